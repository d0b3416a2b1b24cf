"""The two kinds of routing rule, and the pieces of decision they share.

- A *finder* (``stage = "find"``) picks a recipient: ``await rule.decide(session, facts)`` returns a
  :class:`Decision` or ``None`` when it does not apply. The first finder that decides wins; a finder may decide
  "triage" when what it found settles the matter (a former member, an ambiguous name).
- A *refiner* (``stage = "refine"``) adjusts whatever a finder chose:
  ``await rule.refine(session, facts, decision, today)`` returns the adjusted :class:`Decision`, or ``None``
  when it does not apply (the decision stands).
Each rule is a small class with a ``name``; it reads the directory, never writes.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from hub.routing import lookups
from hub.routing.model import Decision, RoutingFacts
from hub.store.models import Employer

REASON_MAX = 300


@runtime_checkable
class Rule(Protocol):
    """A finder: picks the recipient, or says it does not apply (``None``)."""

    name: str
    stage: str  # "find"

    async def decide(self, session: AsyncSession, facts: RoutingFacts) -> Decision | None: ...


@runtime_checkable
class Refiner(Protocol):
    """A refiner: adjusts the recipient chosen by a finder, or leaves it (``None``)."""

    name: str
    stage: str  # "refine"

    async def refine(self, session: AsyncSession, facts: RoutingFacts, decision: Decision, today: date
                     ) -> Decision | None: ...


def triage(rule: str, reason: str, facts: dict[str, Any] | None = None, employer_id: int | None = None
           ) -> Decision:
    """A decision for the human triage queue, with its reason (French, at most 300 characters)."""
    reason = reason[:REASON_MAX]
    return Decision(rule, f"En file de tri : {reason}.", employer_id=employer_id, triage_reason=reason,
                    facts=dict(facts or {}), basis=reason)


def closed_member_reason(employer: Employer) -> str:
    return f"employeur radié / n'est plus adhérent (SIRET {employer.siret}, {employer.name})"


async def assign_to_employer(session: AsyncSession, rule: str, employer: Employer, identified: str,
                             facts: dict[str, Any]) -> Decision:
    """Route to a member employer's physician, else its team; triage when it has neither or has left.

    ``identified`` names the employer the way it was found (``l'employeur SIRET … (Nom)``)."""
    facts = {**lookups.employer_facts(employer), **facts}
    if not employer.active:
        return triage(rule, closed_member_reason(employer), facts)
    doctor = await lookups.practitioner(session, employer.physician_id)
    if doctor is not None:
        team_id = employer.team_id if employer.team_id is not None else doctor.team_id
        facts.update(physician_id=doctor.id, physician_rpps=doctor.rpps)
        return Decision(rule, f"Adressé à vous : {identified} fait partie de votre portefeuille.",
                        practitioner_id=doctor.id, team_id=team_id, employer_id=employer.id, facts=facts,
                        basis=f"{identified} fait partie du portefeuille de {lookups.person_name(doctor)}")
    team = await lookups.team(session, employer.team_id)
    if team is not None:
        facts.update(team_id=team.id, team=team.code)
        return Decision(rule, f"Adressé à votre équipe ({team.name}) : {identified} lui est rattaché, sans "
                        "médecin attitré.", team_id=team.id, employer_id=employer.id, facts=facts,
                        basis=f"{identified} est rattaché à l'équipe {team.name}")
    return triage(rule, f"adhérent sans équipe ni médecin attribués (SIRET {employer.siret}, {employer.name})",
                  facts, employer_id=employer.id)
