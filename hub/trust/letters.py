"""Where a pré-reprise recommendation letter goes: MSSanté or secure pickup, never plain email.

Contract:
- ``await is_mssante(session, settings, address)``: the address is a mailbox of the MSSanté trust space — the
  directory knows it as a practitioner's MSSanté address (``Practitioner.mssante``: ``practitioners.csv`` or the
  Annuaire Santé extraction, as ``hub.trust.answers`` uses it), or its domain is one of ``settings.mssante_domains``
  or a sub-domain of one (default ``mssante.fr``).
- ``await letter_route(session, settings, recipient, address)`` → ``"mssante"`` for the médecin conseil at an
  MSSanté address (an outbox row of kind ``mssante``, like ``hub.trust.delivery``), else ``"pickup"`` (the
  employer always: outside the health trust space; a médecin conseil whose address is not MSSanté): the email
  holds only the link, the one-time code comes separately (``hub.pickup``).
- ``VIA_FR[via]`` says it for the review screen; ``CHANNEL_OF[via]`` is the letter message's ``channel``.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.config import Settings
from hub.store.models import Practitioner

VIA_FR = {"mssante": "par messagerie sécurisée de santé (MSSanté)",
          "pickup": "par lien de retrait sécurisé (le courriel ne contient qu'un lien, le code arrive dans un second "
                    "courriel)"}
CHANNEL_OF = {"mssante": "mssante", "pickup": "retrait"}


async def is_mssante(session: AsyncSession, settings: Settings, address: str) -> bool:
    domain = address.rpartition("@")[2].strip().lower()
    if any(domain == d or domain.endswith(f".{d}") for d in settings.mssante_domains):
        return True
    known = (await session.execute(select(Practitioner.id).where(
        func.lower(Practitioner.mssante) == address.strip().lower()).limit(1))).scalar_one_or_none()
    return known is not None


async def letter_route(session: AsyncSession, settings: Settings, recipient: str, address: str) -> str:
    if recipient == "medecin-conseil" and await is_mssante(session, settings, address):
        return "mssante"
    return "pickup"
