"""The figures of a period, computed by SQL over the stored timestamps (no request is loaded).

Contract: ``await compute(db, settings, period, by, today, structure_id=None, gp=None) -> Figures``.
- Cohort: the requests *received* in the period (``created_at``), broken down by ``by`` (channel, partner, team,
  event). For them: received; routed through triage (a routing decision without a recipient) or automatically;
  answered (a first ``reply`` or ``info-request`` sent from the inbox, whenever it came); answered within the
  kind's target (``IndicatorSettings``, working days); closed (``closed_at``); waiting for the sender now
  (``on-hold``). Time to first answer (``first_answer_at``) and to close in working days (``working_days``
  ordinals: the working days after the day received up to the day answered, UTC days), time in triage in hours
  to a tenth (first triage decision to the first decision naming a recipient after it); median and 90th
  percentile by the nearest-rank method over a histogram, in SQL.
- Backlog: requests received before the end of the period and not closed at its end (whenever received).
- Refusals by the law checks in the period, per reason (``intake_refusals``), pré-reprise and all kinds.
- Delivery: outgoing messages queued in the period, per purpose: sent (and sent after a retry), pending, dead.
``structure_id`` restricts everything to the requests sent by that CPTS/DAC's API clients (its MeasureReport);
``gp`` (an RPPS) to the requests the hub attributes to that practitioner (``requests.requester_rpps``, set only
for an established sender), and their outgoing messages; refusals are not attributed to anyone (none then).
Five statements (cohort, backlog, refusals ×2, delivery), each an aggregate over index range scans; small
counts are masked later (``hub.indicators.report``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Float, Numeric, String, and_, case, cast, exists, func, literal, not_, or_, select, union_all
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
    gp: str | None = None  # the RPPS the figures are restricted to


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


def _base(by: str, structure_id: str | None, *columns: Any, gp: str | None = None) -> Any:
    key, name, joins = _dimension(by)
    query = select(key.label("key"), name.label("name"), *columns).select_from(Request)
    if by in ("channel", "partner") or structure_id is not None:
        query = query.join(Thread, Thread.id == Request.thread_id)
    for target, on in joins:
        query = query.outerjoin(target, on)
    if structure_id is not None:
        query = query.where(Thread.client_id.in_(select(ApiClient.id).where(ApiClient.structure_id == structure_id)))
    if gp is not None:
        query = query.where(Request.requester_rpps == gp)
    return query


_COVERED: dict[tuple[str, str | None], tuple[int, int]] = {}  # per database: years known to be in the table


async def _calendar(db: Database, period: Period, today: date) -> None:
    first, last = period.start.year, max(period.end.year, today.year)
    known = _COVERED.get((db.url, db.schema))
    if known is not None and known[0] <= first and known[1] >= last:
        return
    try:
        async with db.session() as session, session.begin():
            await ensure_years(session, period.start.year, max(period.end.year, today.year))
    except IntegrityError:  # another instance filled it at the same moment
        return
    _COVERED[(db.url, db.schema)] = (min(first, known[0]) if known else first, max(last, known[1]) if known else last)


async def compute(db: Database, settings: IndicatorSettings, period: Period, by: str, today: date,
                  structure_id: str | None = None, gp: str | None = None) -> Figures:
    await _calendar(db, period, today)
    start, end = period.bounds()
    groups: dict[str, Group] = {}
    total = Group(TOTAL, None)
    async with db.session() as session:
        for row in (await session.execute(_cohort_statement(settings, by, structure_id, start, end, gp))).all():
            kind, metric, key, name, n, a, b, c, d, e = row
            if kind == "count":
                groups[key] = Group(key, name, int(n), int(a or 0), int(b or 0), int(c or 0), int(d or 0),
                                    int(e or 0))
            else:
                target_group = total if key == TOTAL else groups.setdefault(key, Group(key, name))
                target_group.spread[metric] = (int(n), _num(a), _num(b))
        for key, name, count in (await session.execute(_backlog_statement(by, structure_id, end, gp))).all():
            groups.setdefault(key, Group(key, name)).backlog = int(count)
        for attr in ("received", "triaged", "answered", "within_target", "closed", "waiting", "backlog"):
            setattr(total, attr, sum(getattr(g, attr) for g in groups.values()))
        refusal_rows, refused = ([], (0, 0)) if gp is not None else await _refusals(session, structure_id, start,
                                                                                       end)
        delivery_rows = await _delivery(session, structure_id, start, end, gp)
    return Figures(period, by, sorted(groups.values(), key=lambda g: (g.name or g.key)), total, refusal_rows,
                   refused, delivery_rows, gp)


def _one(flag: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((flag, 1), else_=0))


def _cohort_statement(settings: IndicatorSettings, by: str, structure_id: str | None, start: datetime,
                      end: datetime, gp: str | None = None) -> Any:
    """One statement: per group the counts, and per group and in total the count, median and 90th percentile
    of each duration, from a histogram (group, value → number of requests) with running sums: no per-request
    row leaves the database and no sort runs over more than the histogram."""
    rd, rd2 = aliased(RoutingDecision), aliased(RoutingDecision)
    entered = (select(rd.request_id.label("request_id"), func.min(rd.created_at).label("t_in"))
               .where(_triage(rd), rd.created_at >= start).group_by(rd.request_id).subquery("entered"))
    left = (select(func.min(rd2.created_at)).where(rd2.request_id == entered.c.request_id, not_(_triage(rd2)),
                                                   rd2.created_at >= entered.c.t_in).scalar_subquery())
    triage = select(entered.c.request_id, entered.c.t_in, left.label("t_out")).cte("triage")
    target = case(*((Request.event == k, v) for k, v in settings.target_days.items()),
                  else_=settings.default_target_days) if settings.target_days else literal(settings.default_target_days)
    w0, w1, w2 = aliased(WorkingDay), aliased(WorkingDay), aliased(WorkingDay)
    facts = (_base(by, structure_id, Request.status.label("status"), Request.closed_at.label("closed_at"),
                   Request.first_answer_at.label("answer_at"), triage.c.t_in.label("t_in"), target.label("target"),
                   (w1.ordinal - w0.ordinal).label("answer_days"), (w2.ordinal - w0.ordinal).label("close_days"),
                   func.round(cast(seconds_between(triage.c.t_in, triage.c.t_out) / 3600.0, Numeric), 1)
                   .label("triage_hours"), gp=gp)
             .outerjoin(triage, triage.c.request_id == Request.id)
             .outerjoin(w0, w0.day == day_of(Request.created_at))
             .outerjoin(w1, w1.day == day_of(Request.first_answer_at))
             .outerjoin(w2, w2.day == day_of(Request.closed_at))
             .where(Request.created_at >= start, Request.created_at < end)
             .cte("facts").prefix_with("MATERIALIZED"))
    f = facts.c
    values = union_all(*(select(literal(metric).label("metric"), cast(f.key, String).label("key"),
                                cast(column, Float).label("value")).where(column.is_not(None))
                         for metric, column in (("answer", f.answer_days), ("close", f.close_days),
                                                ("triage", f.triage_hours)))).subquery("metric_values")
    histogram = (select(values.c.metric, values.c.key, values.c.value, func.count().label("n"))
                 .group_by(values.c.metric, values.c.key, values.c.value).cte("histogram").prefix_with("MATERIALIZED"))
    h = histogram.c
    both = union_all(select(h.metric, h.key, h.value, h.n),
                     select(h.metric, literal(TOTAL), h.value, func.sum(h.n)).group_by(h.metric, h.value)
                     ).subquery("histogram_all")
    spread = percentiles(both)
    counted = select(literal("count").label("kind"), cast(literal(None), String).label("metric"),
                     cast(f.key, String).label("key"), f.name, cast(func.count(), Float),
                     cast(_one(f.t_in.is_not(None)), Float), cast(_one(f.answer_at.is_not(None)), Float),
                     cast(_one(f.answer_days <= f.target), Float), cast(_one(f.closed_at.is_not(None)), Float),
                     cast(_one(f.status == "on-hold"), Float)).group_by(f.key, f.name)
    sp = spread.subquery("spread")
    spread_rows = select(literal("spread"), sp.c.metric, sp.c.key, cast(literal(None), String),
                         cast(sp.c.n, Float), cast(sp.c.median, Float), cast(sp.c.p90, Float),
                         cast(literal(None), Float), cast(literal(None), Float), cast(literal(None), Float))
    return union_all(counted, spread_rows)


def _backlog_statement(by: str, structure_id: str | None, end: datetime, gp: str | None = None) -> Any:
    open_at_end = (_base(by, structure_id, gp=gp)
                   .where(Request.created_at < end, or_(Request.closed_at.is_(None), Request.closed_at >= end))
                   .subquery("open_at_end"))
    return select(open_at_end.c.key, open_at_end.c.name, func.count()).group_by(open_at_end.c.key,
                                                                                  open_at_end.c.name)


def _clients_of(structure_id: str) -> Any:
    return select(ApiClient.id).where(ApiClient.structure_id == structure_id)


async def _refusals(session: Any, structure_id: str | None, start: datetime, end: datetime
                    ) -> tuple[list[tuple[str, int, int]], tuple[int, int]]:
    where = [IntakeRefusal.at >= start, IntakeRefusal.at < end]
    if structure_id is not None:
        where.append(IntakeRefusal.client_id.in_(_clients_of(structure_id)))
    pre = IntakeRefusal.event == "pre-return-visit-request"
    rows = (await session.execute(select(IntakeRefusal.reason, _one(pre), func.count()).where(*where)
                                  .group_by(IntakeRefusal.reason).order_by(IntakeRefusal.reason))).all()
    refused_pre, refused_all = (await session.execute(select(
        func.count(func.distinct(case((pre, IntakeRefusal.refusal_id)))),
        func.count(func.distinct(IntakeRefusal.refusal_id))).where(*where))).one()
    return [(r, int(p or 0), int(a)) for r, p, a in rows], (int(refused_pre), int(refused_all))


async def _delivery(session: Any, structure_id: str | None, start: datetime, end: datetime, gp: str | None = None
                    ) -> list[tuple[str, int, int, int, int]]:
    o = OutboxItem
    query = (select(o.purpose, _one(o.status == "sent"), _one(and_(o.status == "sent", o.attempts > 1)),
                    _one(o.status == "pending"), _one(o.status == "dead"))
             .where(o.created_at >= start, o.created_at < end).group_by(o.purpose).order_by(o.purpose))
    if structure_id is not None:
        query = query.where(exists().where(Thread.id == o.thread_id, Thread.client_id.in_(_clients_of(structure_id))))
    if gp is not None:
        query = query.where(exists().where(Request.thread_id == o.thread_id, Request.requester_rpps == gp))
    return [(p, int(a or 0), int(b or 0), int(c or 0), int(d or 0))
            for p, a, b, c, d in (await session.execute(query)).all()]


def _num(value: Any) -> float | None:
    return None if value is None else float(value)
