"""Where every routing decision is written: intake, re-routing and manual reassignment call the same function.

Contract: ``await record_decision(session, request, decision, decided_by, first=False)`` in the caller's
transaction marks the request's earlier decisions not current (skipped with ``first=True``: a request being
created has none, and that saves a round trip), adds the new current :class:`RoutingDecision` row and copies the
assignment onto the request (practitioner, team, informed team, employer, triage flag and reason).
``routing_facts(draft)`` builds the non-health :class:`RoutingFacts` routing reads from a draft.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.intake.drafts import RequestDraft
from hub.routing.model import Decision, RoutingFacts
from hub.store.models import Request, RoutingDecision, utcnow

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


def decision_row(request_id: str, decision: Decision, decided_by: str = ROUTER,
                 facts: dict[str, Any] | None = None) -> RoutingDecision:
    return RoutingDecision(
        request_id=request_id, rule=decision.rule, practitioner_id=decision.practitioner_id,
        team_id=decision.team_id, informed_team_id=decision.informed_team_id,
        triage_reason=decision.triage_reason,
        facts=json.dumps(decision.facts if facts is None else facts, ensure_ascii=False, sort_keys=True),
        explanation=decision.explanation, decided_by=decided_by[:120], current=True, created_at=utcnow())


async def record_decision(session: AsyncSession, request: Request, decision: Decision, decided_by: str = ROUTER,
                          *, first: bool = False, facts: dict[str, Any] | None = None) -> RoutingDecision:
    """Record ``decision`` as the request's current routing and apply it to the request (see the contract)."""
    if not first:
        await session.execute(update(RoutingDecision).where(RoutingDecision.request_id == request.id,
                                                            RoutingDecision.current.is_(True))
                              .values(current=False))
    row = decision_row(request.id, decision, decided_by, facts)
    session.add(row)
    request.assigned_practitioner_id = decision.practitioner_id
    request.assigned_team_id = decision.team_id
    request.informed_team_id = decision.informed_team_id
    request.employer_id = decision.employer_id
    request.in_triage = decision.in_triage
    request.triage_reason = decision.triage_reason
    return row
