"""The router: runs the rules in order; the first that decides wins; triage when none does.

Contract: ``await Router(rules).route(session, facts)`` returns a :class:`Decision`, deterministic for the same
facts and directory. Rules are objects with a ``name`` and ``async decide(session, facts, decision_so_far)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.routing.model import Decision, RoutingFacts
from hub.store.models import Employer, Practitioner


class Rule(Protocol):
    name: str

    async def decide(self, session: AsyncSession, facts: RoutingFacts) -> Decision | None: ...


class EmployerBySiret:
    """The worker's employer by SIRET → member employer → assigned physician, else its team."""

    name = "employer-siret"

    async def decide(self, session: AsyncSession, facts: RoutingFacts) -> Decision | None:
        if not facts.employer_siret:
            return None
        employer = (await session.execute(
            select(Employer).where(Employer.siret == facts.employer_siret, Employer.active.is_(True))
        )).scalar_one_or_none()
        if employer is None:
            return None
        facts_used = {"siret": employer.siret, "employer": employer.name}
        if employer.physician_id is not None:
            doctor = await session.get(Practitioner, employer.physician_id)
            name = doctor.display_name if doctor else "?"
            return Decision(self.name, f"Adressé à {name} : l'employeur SIRET {employer.siret} ({employer.name}) "
                            "fait partie de son portefeuille.", practitioner_id=employer.physician_id,
                            team_id=employer.team_id, employer_id=employer.id, facts=facts_used)
        if employer.team_id is not None:
            return Decision(self.name, f"Adressé à l'équipe de l'employeur SIRET {employer.siret} "
                            f"({employer.name}).", team_id=employer.team_id, employer_id=employer.id,
                            facts=facts_used)
        return None


class Router:
    def __init__(self, rules: Sequence[Rule] | None = None) -> None:
        self.rules: list[Rule] = list(rules) if rules is not None else [EmployerBySiret()]

    async def route(self, session: AsyncSession, facts: RoutingFacts) -> Decision:
        for rule in self.rules:
            decision = await rule.decide(session, facts)
            if decision is not None:
                return decision
        reason = facts.triage_hint or ("employeur non adhérent" if facts.employer_siret else "employeur inconnu")
        return Decision("triage", f"En file de tri : {reason}.", triage_reason=reason,
                        facts={"siret": facts.employer_siret} if facts.employer_siret else {})
