"""Rule 5: no SIRET but an employer name (and postcode or commune) → the member employer, when unambiguous."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.routing import lookups
from hub.routing.model import Decision, RoutingFacts
from hub.routing.rules.base import assign_to_employer, triage


def place_fr(postcode: str | None, commune: str | None) -> str:
    """`` (code postal 44300, commune 44109)`` or ``""``."""
    parts = ([f"code postal {postcode}"] if postcode else []) + ([f"commune {commune}"] if commune else [])
    return f" ({', '.join(parts)})" if parts else ""


class EmployerByName:
    """Match ``employer_name`` on ``Employer.name_key`` (accents, case and punctuation folded), narrowed by the
    postcode and the commune when given. Exactly one active member → as rule 1; several → triage
    ("employeur ambigu : N établissements correspondent"); none → does not apply."""

    name = "employer-name"
    stage = "find"

    async def decide(self, session: AsyncSession, facts: RoutingFacts) -> Decision | None:
        if facts.employer_siret or not facts.employer_name:
            return None
        candidates = await lookups.employers_by_name(session, facts.employer_name, facts.employer_postcode,
                                                     facts.employer_commune)
        used = {"employer_name": facts.employer_name, "employer_postcode": facts.employer_postcode,
                "employer_commune": facts.employer_commune, "matched_by": "name",
                "candidates": [e.siret for e in candidates]}
        if len(candidates) > 1:
            return triage(self.name, f"employeur ambigu : {len(candidates)} établissements correspondent "
                          f"(« {facts.employer_name} »{place_fr(facts.employer_postcode, facts.employer_commune)})",
                          used)
        if not candidates:
            return None
        employer = candidates[0]
        where = place_fr(facts.employer_postcode, facts.employer_commune)
        identified = f"l'employeur « {employer.name} »{where}, SIRET {employer.siret} dans l'annuaire,"
        return await assign_to_employer(session, self.name, employer, identified, used)
