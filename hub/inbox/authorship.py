"""Who wrote an outgoing message, and in what role, in the words the recipient reads.

Contract: ``await author_line(session, viewer, request)`` returns the author as stored with the message and
signed in the email: "Dr Anne Le Goff, médecin du travail"; "Claire Robin, infirmier·e en santé au travail, pour le
Dr Anne Le Goff" when someone answers on a request assigned to another practitioner; "la coordination du guichet"
for an account without a practitioner. ``authored(kind, line)`` is the sentence: "Réponse de Claire Robin, …",
"Demande de précisions du Dr Anne Le Goff, médecin du travail". Never "du médecin du travail" for someone else.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.inbox.access import Viewer
from hub.store.models import Practitioner, Request

COORDINATION = "la coordination du guichet"


async def author_line(session: AsyncSession, viewer: Viewer, request: Request) -> str:
    if viewer.practitioner_id is None:
        return COORDINATION
    line = f"{viewer.label}, {viewer.role_label}"
    owner_id = request.assigned_practitioner_id
    if owner_id is not None and owner_id != viewer.practitioner_id:
        owner = await session.get(Practitioner, owner_id)
        if owner is not None:
            name = owner.display_name
            line += f", pour le {name}" if name.startswith("Dr ") else f", pour {name}"
    return line


def _of(line: str) -> str:
    """French "de" before a name: "du Dr …", "de la coordination", "d'Anne …", "de Claire …"."""
    if line.startswith("Dr "):
        return f"du {line}"
    if line[:1].lower() in "aeéèêiîoôuy" and not line.startswith("la "):
        return f"d'{line}"
    return f"de {line}"


def authored(kind: str, line: str) -> str:
    what = "Réponse" if kind == "reply" else "Demande de précisions"
    return f"{what} {_of(line)}"
