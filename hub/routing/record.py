"""Where every routing decision is written: intake, re-routing and manual reassignment call the same function.

Contract: ``await record_decision(session, request, decision, decided_by, first=False)`` in the caller's
transaction marks the request's earlier decisions not current (skipped with ``first=True``: a request being
created has none, and that saves a round trip), adds the new current :class:`RoutingDecision` row and copies the
assignment onto the request (practitioner, team, informed team, employer, triage flag and reason). The triage
reason, the explanation and the facts are sealed with ``sealer`` (``hub.store.routing_text``): never in clear.
``routing_facts(draft)`` builds the non-health :class:`RoutingFacts` routing reads from a draft.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.intake.drafts import RequestDraft
from hub.routing.model import Decision, RoutingFacts
from hub.store.models import Request, RoutingDecision, utcnow
from hub.store.routing_text import decision_columns, set_request_triage
from hub.store.sealing import Sealer

ROUTER = "router"


def routing_facts(draft: RequestDraft) -> RoutingFacts:
    employer = draft.employer
    return RoutingFacts(
        event=draft.event, channel=draft.channel, requester_kind=draft.requester.kind,
        employer_siret=employer.siret if employer else None,
        employer_name=employer.name if employer else None,
        employer_postcode=employer.postcode if employer else None,
        employer_commune=employer.commune_insee if employer else None,
        worker_commune=draft.worker.residence_commune if draft.worker else None,
        structure_id=draft.requester.structure_id, triage_hint=draft.triage_hint,
    )


def decision_row(sealer: Sealer, session: AsyncSession, request_id: str, decision: Decision,
                 decided_by: str = ROUTER, facts: dict[str, Any] | None = None) -> RoutingDecision:
    """The row, its triage reason, explanation and facts sealed under a data key of its own (``routing_text``)."""
    return RoutingDecision(
        request_id=request_id, rule=decision.rule, practitioner_id=decision.practitioner_id,
        team_id=decision.team_id, informed_team_id=decision.informed_team_id,
        **decision_columns(sealer, session, triage_reason=decision.triage_reason, explanation=decision.explanation,
                           facts=decision.facts if facts is None else facts),
        decided_by=decided_by[:120], current=True, created_at=utcnow())


async def record_decision(session: AsyncSession, request: Request, decision: Decision, decided_by: str = ROUTER,
                          *, sealer: Sealer, first: bool = False, facts: dict[str, Any] | None = None,
                          request_key: bytes | None = None) -> RoutingDecision:
    """Record ``decision`` as the request's current routing and apply it to the request (see the contract).
    ``request_key``: the request's unwrapped data key when the caller holds it (a request being created)."""
    if not first:
        await session.execute(update(RoutingDecision).where(RoutingDecision.request_id == request.id,
                                                            RoutingDecision.current.is_(True))
                              .values(current=False))
    row = decision_row(sealer, session, request.id, decision, decided_by, facts)
    session.add(row)
    request.assigned_practitioner_id = decision.practitioner_id
    request.assigned_team_id = decision.team_id
    request.informed_team_id = decision.informed_team_id
    request.employer_id = decision.employer_id
    await set_request_triage(sealer, session, request, decision.triage_reason, key=request_key)
    return row
