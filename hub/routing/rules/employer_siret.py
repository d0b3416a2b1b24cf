"""Rule 1: the worker's employer by SIRET → member employer → its physician, else its team."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.routing import lookups
from hub.routing.model import Decision, RoutingFacts
from hub.routing.rules.base import assign_to_employer


class EmployerBySiret:
    """The SIRET names a member employer: its assigned physician, else its team.

    A former member (``active=False``) does not match: the request goes to triage, saying so. An unknown SIRET
    is not decided here (``None``): the triage rule says "employeur non adhérent"."""

    name = "employer-siret"
    stage = "find"

    async def decide(self, session: AsyncSession, facts: RoutingFacts) -> Decision | None:
        if not facts.employer_siret:
            return None
        employer = await lookups.employer_by_siret(session, facts.employer_siret)
        if employer is None:
            return None
        return await assign_to_employer(session, self.name, employer, lookups.employer_label(employer),
                                        {"matched_by": "siret"})
