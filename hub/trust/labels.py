"""The French words for a trust level and for a claimed identity, as the inbox shows them.

Contract: ``trust_label(level)`` names a level of ``hub.intake.drafts.TRUST_LEVELS`` in words (never only by
colour); ``None`` (messages stored before trust existed, or written by the hub) reads as unverified for messages
in. ``claim_label(practitioner_name, rpps)`` is the suggestion shown beside an unverified sender:
"se présente comme Dr …, non vérifié".
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.models import Practitioner

TRUST_LABELS_FR = {
    "mssante": "Reçu par MSSanté (messagerie sécurisée de santé)",
    "verified": "Courriel authentifié (domaine de l'expéditeur vérifié)",
    "api": "Client de l'API authentifié",
    "form": "Formulaire en ligne (identité déclarée, non vérifiée)",
    "unverified": "Expéditeur non vérifié",
}
SECURE_LEVELS = ("mssante", "verified", "api")


def trust_label(level: str | None) -> str:
    return TRUST_LABELS_FR.get(level or "unverified", TRUST_LABELS_FR["unverified"])


def claim_label(practitioner_name: str | None, rpps: str) -> str:
    if practitioner_name:
        return f"se présente comme {practitioner_name}, non vérifié"
    return f"cite le RPPS {rpps}, inconnu de l'annuaire, non vérifié"


async def claimed_names(session: AsyncSession, rpps: list[str]) -> dict[str, str]:
    """``claim_label`` for each claimed RPPS, with the directory's name when the RPPS is known."""
    if not rpps:
        return {}
    known = {p.rpps: p.display_name for p in (await session.execute(
        select(Practitioner).where(Practitioner.rpps.in_(sorted(set(rpps)))))).scalars()}
    return {r: claim_label(known.get(r), r) for r in set(rpps)}
