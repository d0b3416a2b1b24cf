"""The figures of a period, computed by SQL over the stored timestamps (no request is loaded).

Contract: ``await compute(db, settings, period, by, today, structure_id=None) -> Figures``.
- Cohort: the requests *received* in the period (``created_at``), broken down by ``by`` (channel, partner, team,
  event). For them: received; routed through triage (a routing decision without a recipient) or automatically;
  answered (a first outgoing ``reply`` or ``info-request`` message, whenever it came); answered within the
  kind's target (``IndicatorSettings``, working days); closed (``closed_at``); waiting for the sender now
  (``on-hold``). Time to first answer and to close in working days (``working_days`` ordinals: the working days
  after the day received up to the day answered, UTC days), time in triage in hours (first triage decision to
  the first decision naming a recipient after it); median and 90th percentile by the nearest-rank method.
- Backlog: requests received before the end of the period and not closed at its end (whenever received).
- Refusals by the law checks in the period, per reason (``intake_refusals``), pré-reprise and all kinds.
- Delivery: outgoing messages queued in the period, per purpose: sent (and sent after a retry), pending, dead.
``structure_id`` restricts everything to the requests sent by that CPTS/DAC's API clients (its MeasureReport).
Six statements, each aggregating in the database; small counts are masked later (``hub.indicators.report``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Float, String, and_, case, cast, exists, func, literal, not_, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from hub.indicators.calendar import ensure_years
from hub.indicators.config import IndicatorSettings
from hub.indicators.period import Period
from hub.indicators.sqlparts import day_of, percentiles, seconds_between
from hub.store.db import Database
from hub.store.models import (
    ApiClient,
    IntakeRefusal,
    Message,
    OutboxItem,
    Request,
    RoutingDecision,
    Structure,
    Team,
    Thread,
    WorkingDay,
)

ANSWER_KINDS = ("reply", "info-request")
TOTAL = "*"


@dataclass
class Group:
    key: str
    name: str | None
    received: int = 0
    triaged: int = 0
    answered: int = 0
    within_target: int = 0
    closed: int = 0
    waiting: int = 0
    backlog: int = 0
    spread: dict[str, tuple[int, float | None, float | None]] = field(default_factory=dict)  # metric: n, med, p90


@dataclass
class Figures:
    period: Period
    by: str
    groups: list[Group]
    total: Group
    refusals: list[tuple[str, int, int]]  # reason, pré-reprise, all kinds
    refused: tuple[int, int]  # distinct refused requests: pré-reprise, all kinds
    delivery: list[tuple[str, int, int, int, int]]  # purpose, sent, sent after retry, pending, dead


def _triage(rd: Any) -> ColumnElement[bool]:
    return or_(rd.triage_reason.is_not(None), and_(rd.practitioner_id.is_(None), rd.team_id.is_(None)))


def _dimension(by: str) -> tuple[Any, Any, list[tuple[Any, Any]]]:
    """(key, name, outer joins) of a breakdown, over ``requests`` joined to ``threads``."""
    if by == "team":
        return (func.coalesce(Team.code, "-"), Team.name, [(Team, Team.id == Request.assigned_team_id)])
    if by == "partner":
        key = case((Structure.id.is_not(None), literal("s:") + Structure.id),
                   else_=literal("k:") + Request.requester_kind)
        return (key, Structure.name, [(ApiClient, ApiClient.id == Thread.client_id),
                                      (Structure, Structure.id == ApiClient.structure_id)])
    column = Thread.channel if by == "channel" else Request.event
    return column, cast(literal(None), String), []


def _base(by: str, structure_id: str | None, *columns: Any) -> Any:
    key, name, joins = _dimension(by)
    query = select(key.label("key"), name.label("name"), *columns).select_from(Request).join(
        Thread, Thread.id == Request.thread_id)
    for target, on in joins:
        query = query.outerjoin(target, on)
    if structure_id is not None:
        query = query.where(Thread.client_id.in_(select(ApiClient.id).where(ApiClient.structure_id == structure_id)))
    return query


async def _calendar(db: Database, period: Period, today: date) -> None:
    try:
        async with db.session() as session, session.begin():
            await ensure_years(session, period.start.year, max(period.end.year, today.year))
    except IntegrityError:  # another instance filled it at the same moment
        pass


async def compute(db: Database, settings: IndicatorSettings, period: Period, by: str, today: date,
                  structure_id: str | None = None) -> Figures:
    await _calendar(db, period, today)
    start, end = period.bounds()
    m, rd, rd2 = aliased(Message), aliased(RoutingDecision), aliased(RoutingDecision)
    answer_at = (select(func.min(m.created_at)).where(m.request_id == Request.id, m.direction == "out",
                                                      m.kind.in_(ANSWER_KINDS)).scalar_subquery())
    triage_in = select(func.min(rd.created_at)).where(rd.request_id == Request.id, _triage(rd)).scalar_subquery()
    triage_out = (select(func.min(rd2.created_at)).where(rd2.request_id == Request.id, not_(_triage(rd2)),
                                                         rd2.created_at >= triage_in).scalar_subquery())
    target = case(*((Request.event == k, v) for k, v in settings.target_days.items()),
                  else_=settings.default_target_days) if settings.target_days else literal(settings.default_target_days)
    facts = (_base(by, structure_id, Request.status.label("status"), Request.created_at.label("created_at"),
                   Request.closed_at.label("closed_at"), answer_at.label("answer_at"), triage_in.label("triage_in"),
                   triage_out.label("triage_out"), target.label("target"))
             .where(Request.created_at >= start, Request.created_at < end).cte("facts"))
    w0, w1, w2 = aliased(WorkingDay), aliased(WorkingDay), aliased(WorkingDay)
    f = facts.c
    durations = (select(f.key, f.name, f.status, f.closed_at, f.answer_at, f.triage_in, f.target,
                        (w1.ordinal - w0.ordinal).label("answer_days"), (w2.ordinal - w0.ordinal).label("close_days"),
                        (seconds_between(f.triage_in, f.triage_out) / 3600.0).label("triage_hours"))
                 .select_from(facts).outerjoin(w0, w0.day == day_of(f.created_at))
                 .outerjoin(w1, w1.day == day_of(f.answer_at)).outerjoin(w2, w2.day == day_of(f.closed_at))
                 .cte("durations").prefix_with("MATERIALIZED"))
    d = durations.c

    def one(flag: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((flag, 1), else_=0))

    counts = select(d.key, d.name, func.count(), one(d.triage_in.is_not(None)), one(d.answer_at.is_not(None)),
                    one(d.answer_days <= d.target), one(d.closed_at.is_not(None)),
                    one(d.status == "on-hold")).group_by(d.key, d.name)
    parts = []
    for metric, column in (("answer", d.answer_days), ("close", d.close_days), ("triage", d.triage_hours)):
        for key in (d.key, literal(TOTAL)):
            parts.append(select(literal(metric).label("metric"), cast(key, String).label("key"),
                                cast(column, Float).label("value")))
    spread_query = percentiles(union_all(*parts).subquery("metric_rows"))
    open_at_end = (_base(by, structure_id)
                   .where(Request.created_at < end, or_(Request.closed_at.is_(None), Request.closed_at >= end))
                   .subquery("open_at_end"))
    backlog = select(open_at_end.c.key, open_at_end.c.name, func.count()).group_by(open_at_end.c.key,
                                                                                    open_at_end.c.name)
    refusal_where = [IntakeRefusal.at >= start, IntakeRefusal.at < end]
    if structure_id is not None:
        refusal_where.append(IntakeRefusal.client_id.in_(
            select(ApiClient.id).where(ApiClient.structure_id == structure_id)))
    pre = IntakeRefusal.event == "pre-return-visit-request"
    refusals = (select(IntakeRefusal.reason, one(pre), func.count()).where(*refusal_where)
                .group_by(IntakeRefusal.reason).order_by(IntakeRefusal.reason))
    refused = select(func.count(func.distinct(case((pre, IntakeRefusal.refusal_id)))),
                     func.count(func.distinct(IntakeRefusal.refusal_id))).where(*refusal_where)
    o = OutboxItem
    delivery = (select(o.purpose, one(o.status == "sent"), one(and_(o.status == "sent", o.attempts > 1)),
                       one(o.status == "pending"), one(o.status == "dead"))
                .where(o.created_at >= start, o.created_at < end).group_by(o.purpose).order_by(o.purpose))
    if structure_id is not None:
        delivery = delivery.where(exists().where(Thread.id == o.thread_id, Thread.client_id.in_(
            select(ApiClient.id).where(ApiClient.structure_id == structure_id))))

    groups: dict[str, Group] = {}
    async with db.session() as session:
        for key, name, *values in (await session.execute(counts)).all():
            received, triaged, answered, within, closed, waiting = (int(v or 0) for v in values)
            groups[key] = Group(key, name, received, triaged, answered, within, closed, waiting)
        for key, name, count in (await session.execute(backlog)).all():
            groups.setdefault(key, Group(key, name)).backlog = int(count)
        total = Group(TOTAL, None)
        for attr in ("received", "triaged", "answered", "within_target", "closed", "waiting", "backlog"):
            setattr(total, attr, sum(getattr(g, attr) for g in groups.values()))
        for metric, key, n, median, p90 in (await session.execute(spread_query)).all():
            target_group = total if key == TOTAL else groups.get(key)
            if target_group is not None:
                target_group.spread[metric] = (int(n), _num(median), _num(p90))
        refusal_rows = [(r, int(p or 0), int(a)) for r, p, a in (await session.execute(refusals)).all()]
        refused_pre, refused_all = (await session.execute(refused)).one()
        delivery_rows = [(p, *(int(v or 0) for v in vals)) for p, *vals in (await session.execute(delivery)).all()]
    return Figures(period, by, sorted(groups.values(), key=lambda g: (g.name or g.key)), total, refusal_rows,
                   (int(refused_pre), int(refused_all)), delivery_rows)


def _num(value: Any) -> float | None:
    return None if value is None else float(value)
