"""Re-routing a stored request (after a directory change, or from the inbox) — a command, not a DB edit.

Contract:
- ``await reroute(hub, request_id, actor, today=None)`` recomputes the routing of one open request from its
  stored facts (its encrypted payload, opened with ``hub.sealer``) with ``hub.router``, and, in ONE
  transaction: marks the previous ``RoutingDecision`` rows ``current=False`` and adds the new one, updates the
  request's assignment columns, records an audit event (the payload was read), and notifies whoever must now
  act (the physician, else the team, else the coordinators: ``hub.notices``).
  When the new decision is the same as the current one, nothing but the audit event is written. Returns the
  :class:`Decision`. Raises :class:`RerouteError` (French message) for an unknown or closed request.
- ``await reroute_outcome(…)`` does the same and also returns what the request had before.
- ``await reroute_many(hub, actor, only_triage=True)`` re-routes every open request waiting in triage (or every
  open request), one transaction each, oldest first, leaving alone those whose current decision was made by a
  person (rule ``manual``, or ``decided_by`` not starting with ``router``). Returns the outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import Actor
from hub.intake.drafts import EmployerRef, Person, RequestDraft, Requester
from hub.routing.model import Decision, RoutingFacts
from hub.routing.record import record_decision, routing_facts
from hub.store.models import CLOSED_STATUSES, Request, RoutingDecision, Thread, utcnow
from hub.store.routing_text import RoutingText, open_decision, open_request_triage

if TYPE_CHECKING:
    from hub.audit import AuditLog
    from hub.notices import Notices
    from hub.outbox import Outbox
    from hub.routing.pipeline import Router
    from hub.store.db import Database
    from hub.store.sealing import Sealer


class Hub(Protocol):
    """What re-routing uses (the composition root provides it; this module does not import it)."""

    db: Database
    router: Router
    sealer: Sealer
    audit: AuditLog
    notices: Notices
    outbox: Outbox

ROUTER_PREFIX = "router"
MANUAL_RULE = "manual"  # hub.inbox.reassign


class RerouteError(LookupError):
    """The request cannot be re-routed; the message (French) says why."""


@dataclass(frozen=True)
class Assignment:
    """Where a request is: the assignment columns of ``requests``."""

    practitioner_id: int | None
    team_id: int | None
    informed_team_id: int | None
    employer_id: int | None
    in_triage: bool
    triage_reason: str | None

    @classmethod
    def of_request(cls, request: Request, triage_reason: str | None = None) -> Assignment:
        """``triage_reason``: the request's, opened by the caller (it is sealed at rest)."""
        return cls(request.assigned_practitioner_id, request.assigned_team_id, request.informed_team_id,
                   request.employer_id, bool(request.in_triage), triage_reason)

    @classmethod
    def of_decision(cls, decision: Decision) -> Assignment:
        return cls(decision.practitioner_id, decision.team_id, decision.informed_team_id, decision.employer_id,
                   decision.in_triage, decision.triage_reason)


@dataclass(frozen=True)
class RerouteOutcome:
    request_id: str
    reference: str
    before: Assignment
    decision: Decision
    recorded: bool  # a new RoutingDecision row was written

    @property
    def after(self) -> Assignment:
        return Assignment.of_decision(self.decision)

    @property
    def changed(self) -> bool:
        """True when the recipient (physician, team, informed team or triage) changed."""
        b, a = self.before, self.after
        return ((b.practitioner_id, b.team_id, b.informed_team_id, b.in_triage)
                != (a.practitioner_id, a.team_id, a.informed_team_id, a.in_triage))


def _build(cls: Any, data: Any) -> Any:
    if not isinstance(data, dict):
        return None
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def draft_view(payload: dict[str, Any], request: Request) -> RequestDraft:
    """The stored payload as a :class:`RequestDraft` carrying what routing reads (dates stay strings)."""
    return RequestDraft(
        event=payload.get("event") or request.event, channel=payload.get("channel") or "",
        source_key=request.source_key,
        requester=_build(Requester, payload.get("requester")) or Requester(kind=request.requester_kind),
        worker=_build(Person, payload.get("worker")), employer=_build(EmployerRef, payload.get("employer")),
        triage_hint=payload.get("triage_hint"))


async def stored_facts(hub: Hub, session: AsyncSession, request: Request) -> RoutingFacts:
    """Rebuild the routing facts of a stored request from its encrypted payload (the caller audits the read)."""
    payload = await hub.sealer.open_json(session, request.data_key_id, "requests", request.id, "payload",
                                         request.payload_enc)
    return routing_facts(draft_view(payload if isinstance(payload, dict) else {}, request))


def _same(row: RoutingDecision | None, text: RoutingText | None, request: Request, decision: Decision) -> bool:
    if row is None or text is None:
        return False
    return ((row.rule, row.practitioner_id, row.team_id, row.informed_team_id, text.triage_reason, text.explanation,
             request.employer_id, request.in_triage)
            == (decision.rule, decision.practitioner_id, decision.team_id, decision.informed_team_id,
                decision.triage_reason, decision.explanation, decision.employer_id, decision.in_triage))


def _lead(a: Assignment) -> tuple[int | None, int | None, bool]:
    """Who must act: the physician, else the team, else the triage queue (not the informed team)."""
    return (a.practitioner_id, a.team_id if a.practitioner_id is None else None, a.in_triage)


def _describe(a: Assignment) -> str:
    parts = (["triage"] if a.in_triage else []) + (  # never the reason: it may hold typed words
        [f"practitioner {a.practitioner_id}"] if a.practitioner_id is not None else []) + (
        [f"team {a.team_id}"] if a.team_id is not None else []) + (
        [f"informed {a.informed_team_id}"] if a.informed_team_id is not None else [])
    return ", ".join(parts) or "nobody"


async def reroute_outcome(hub: Hub, request_id: str, actor: Actor, today: date | None = None) -> RerouteOutcome:
    """Re-route one request (see the module contract) and say what it had before."""
    async with hub.db.session() as session, session.begin():
        request = (await session.execute(
            select(Request).where(Request.id == request_id).with_for_update())).scalar_one_or_none()
        if request is None:
            raise RerouteError(f"demande {request_id} introuvable")
        reference = (await session.execute(
            select(Thread.reference).where(Thread.id == request.thread_id))).scalar_one()
        if request.status in CLOSED_STATUSES:
            raise RerouteError(f"la demande {reference} est close ({request.status}) : elle n'est pas réorientée")
        before = Assignment.of_request(request, await open_request_triage(hub.sealer, session, request))
        facts = await stored_facts(hub, session, request)
        decision = await hub.router.route(session, facts, today=today)
        current = (await session.execute(
            select(RoutingDecision).where(RoutingDecision.request_id == request.id,
                                          RoutingDecision.current.is_(True))
            .order_by(RoutingDecision.id.desc()).limit(1))).scalar_one_or_none()
        text = await open_decision(hub.sealer, session, current) if current is not None else None
        recorded = not _same(current, text, request, decision)
        if recorded:
            await record_decision(session, request, decision, f"{ROUTER_PREFIX} ({actor.label})", sealer=hub.sealer)
            request.updated_at = utcnow()
        after = Assignment.of_decision(decision)
        await hub.audit.record(session, actor=actor, action="reroute", entity_type="Task", entity_id=request.id,
                               detail=(f"rule {decision.rule}: {_describe(before)} -> {_describe(after)}"
                                       + ("" if recorded else " (unchanged)"))[:300])
        newly_assigned = _lead(before) != _lead(after)
        if recorded and newly_assigned:
            await hub.notices.on_new_message(session, request, "")
    if recorded and newly_assigned:
        hub.outbox.wakeup.set()
    return RerouteOutcome(request.id, reference, before, decision, recorded)


async def reroute(hub: Hub, request_id: str, actor: Actor, today: date | None = None) -> Decision:
    """Re-route one stored request; see the module contract."""
    return (await reroute_outcome(hub, request_id, actor, today)).decision


async def request_id_for(hub: Hub, reference: str) -> str | None:
    """The id of the (first) request of the thread with this reference (``GU-XXXX-XXXX``, any case)."""
    async with hub.db.session() as session:
        return (await session.execute(
            select(Request.id).join(Thread, Thread.id == Request.thread_id)
            .where(Thread.reference == reference.strip().upper())
            .order_by(Request.created_at, Request.id).limit(1))).scalar_one_or_none()


async def reroute_many(hub: Hub, actor: Actor, only_triage: bool = True, today: date | None = None
                       ) -> list[RerouteOutcome]:
    """Re-route the open requests waiting in triage (or all open ones), oldest first; see the module contract."""
    query = (select(Request.id)
             .outerjoin(RoutingDecision, (RoutingDecision.request_id == Request.id)
                        & RoutingDecision.current.is_(True))
             .where(Request.status.not_in(CLOSED_STATUSES),
                    or_(RoutingDecision.id.is_(None),
                        RoutingDecision.decided_by.startswith(ROUTER_PREFIX) & (RoutingDecision.rule != MANUAL_RULE)))
             .order_by(Request.created_at, Request.id))
    if only_triage:
        query = query.where(Request.in_triage.is_(True))
    async with hub.db.session() as session:
        ids = list(dict.fromkeys((await session.execute(query)).scalars()))
    outcomes = []
    for request_id in ids:
        try:
            outcomes.append(await reroute_outcome(hub, request_id, actor, today))
        except RerouteError:
            continue  # closed meanwhile
    return outcomes
