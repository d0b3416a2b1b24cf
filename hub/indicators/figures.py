"""The figures of a period, computed by SQL over the stored timestamps (no request is loaded).

Contract: ``await compute(db, settings, period, by, today, structure_id=None, gp=None) -> Figures``.
- Cohort: the requests *received* in the period (``created_at``), broken down by ``by`` (channel, partner, team,
  event). For them: received; routed through triage (``triage_in_at``: a routing decision with a triage reason or
  without a recipient) or automatically;
  answered (a first ``reply`` or ``info-request`` sent from the inbox, whenever it came); answered within the
  kind's target (``IndicatorSettings``, working days); closed (``closed_at``); waiting for the sender now
  (``on-hold``). Time to first answer (``first_answer_at``) and to close in working days (the difference of the
  working-day ordinals stored with them: the working days after the day received up to the day answered, days
  in France), time in triage in hours to a tenth (``triage_in_at`` to ``triage_out_at``: first triage decision to the
  first decision naming a recipient after it); median and 90th percentile by the nearest-rank method over a
  histogram, in SQL. Those facts live on the request row (``hub.store.models.indicators`` keeps them), so a
  period is one covering-index range scan of ``requests``, with no join per request.
- Backlog: requests received before the end of the period and not closed at its end (whenever received): the
  open ones and those closed after the end, two ranges of ``ix_requests_closed``.
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

from sqlalchemy import Float, Numeric, String, and_, case, cast, exists, func, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from hub.indicators.config import IndicatorSettings
from hub.indicators.period import Period
from hub.indicators.sqlparts import percentiles, seconds_between
from hub.store.db import Database
from hub.store.models import (
    ApiClient,
    IntakeRefusal,
    OutboxItem,
    Request,
    Structure,
    Team,
    Thread,
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


def _grouping(by: str) -> list[Any]:
    """The raw columns a breakdown groups requests by (labels are joined after grouping, on a few rows)."""
    if by == "team":
        return [Request.assigned_team_id.label("g0")]
    if by == "partner":
        return [Request.client_id.label("g0"), Request.requester_kind.label("g1")]
    return [(Request.channel if by == "channel" else Request.event).label("g0")]


def _labelled(by: str, grouped: Any, *columns: Any) -> Any:
    """``grouped`` (a subquery with the ``_grouping`` columns) with the breakdown's ``key`` and ``name``."""
    g = grouped.c
    if by == "team":
        return (select(func.coalesce(Team.code, "-").label("key"), Team.name.label("name"), *columns)
                .select_from(grouped).outerjoin(Team, Team.id == g.g0))
    if by == "partner":
        key = case((Structure.id.is_not(None), literal("s:") + Structure.id), else_=literal("k:") + g.g1)
        return (select(key.label("key"), Structure.name.label("name"), *columns).select_from(grouped)
                .outerjoin(ApiClient, ApiClient.id == g.g0)
                .outerjoin(Structure, Structure.id == ApiClient.structure_id))
    return select(cast(g.g0, String).label("key"), cast(literal(None), String).label("name"), *columns
                  ).select_from(grouped)


def _base(by: str, structure_id: str | None, *columns: Any, gp: str | None = None) -> Any:
    query = select(*_grouping(by), *columns).select_from(Request)
    if structure_id is not None:
        query = query.where(Request.client_id.in_(_clients_of(structure_id)))
    if gp is not None:
        query = query.where(Request.requester_rpps == gp)
    return query


async def compute(db: Database, settings: IndicatorSettings, period: Period, by: str, today: date,
                  structure_id: str | None = None, gp: str | None = None) -> Figures:
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
    """One statement. The requests of the period are grouped once, by the breakdown's raw columns and the two
    durations in working days (one covering-index range scan and one sort: the facts are on the request row), the
    few that left triage apart by their hours in it; labels are joined to those groups; from them, per group the
    counts, and per group and in total the count, median and 90th percentile of each duration, from a histogram
    (group, value → number of requests) with running sums. No per-request row leaves the database and no later
    sort runs over more than the groups."""
    r = Request
    target = case(*((r.event == k, v) for k, v in settings.target_days.items()),
                  else_=settings.default_target_days) if settings.target_days else literal(settings.default_target_days)
    answer_days, close_days = r.answer_wd - r.created_wd, r.closed_wd - r.created_wd
    triage_hours = func.round(cast(seconds_between(r.triage_in_at, r.triage_out_at) / 3600.0, Numeric), 1)
    raw = [c.element for c in _grouping(by)]
    in_period = (r.created_at >= start, r.created_at < end)
    grouped = (_base(by, structure_id, answer_days.label("answer_days"), close_days.label("close_days"),
                     func.count().label("n"), _one(r.triage_in_at.is_not(None)).label("triaged"),
                     _one(r.first_answer_at.is_not(None)).label("answered"),
                     _one(answer_days <= target).label("within"), _one(r.closed_at.is_not(None)).label("closed"),
                     _one(r.status == "on-hold").label("waiting"), gp=gp)
               .where(*in_period).group_by(*raw, answer_days, close_days).subquery("grouped"))
    g = grouped.c
    facts = _labelled(by, grouped, g.answer_days, g.close_days, g.n, g.triaged, g.answered, g.within, g.closed,
                      g.waiting).cte("facts").prefix_with("MATERIALIZED")
    f = facts.c
    # time in triage: only the few requests that left triage, grouped apart (no hour value on every group above)
    triaged = (_base(by, structure_id, triage_hours.label("value"), func.count().label("n"), gp=gp)
               .where(*in_period, r.triage_out_at.is_not(None)).group_by(*raw, triage_hours).subquery("triaged"))
    t = _labelled(by, triaged, triaged.c.value, triaged.c.n).subquery("triage_values").c
    values = union_all(*(select(literal(metric).label("metric"), cast(f.key, String).label("key"),
                                cast(column, Float).label("value"), f.n).where(column.is_not(None))
                         for metric, column in (("answer", f.answer_days), ("close", f.close_days))),
                       select(literal("triage"), cast(t.key, String), cast(t.value, Float), t.n)
                       ).subquery("metric_values")
    histogram = (select(values.c.metric, values.c.key, values.c.value, func.sum(values.c.n).label("n"))
                 .group_by(values.c.metric, values.c.key, values.c.value).cte("histogram").prefix_with("MATERIALIZED"))
    h = histogram.c
    both = union_all(select(h.metric, h.key, h.value, h.n),
                     select(h.metric, literal(TOTAL), h.value, func.sum(h.n)).group_by(h.metric, h.value)
                     ).subquery("histogram_all")
    spread = percentiles(both)
    counted = select(literal("count").label("kind"), cast(literal(None), String).label("metric"),
                     cast(f.key, String).label("key"), f.name, cast(func.sum(f.n), Float),
                     cast(func.sum(f.triaged), Float), cast(func.sum(f.answered), Float),
                     cast(func.sum(f.within), Float), cast(func.sum(f.closed), Float),
                     cast(func.sum(f.waiting), Float)).group_by(f.key, f.name)
    sp = spread.subquery("spread")
    spread_rows = select(literal("spread"), sp.c.metric, sp.c.key, cast(literal(None), String),
                         cast(sp.c.n, Float), cast(sp.c.median, Float), cast(sp.c.p90, Float),
                         cast(literal(None), Float), cast(literal(None), Float), cast(literal(None), Float))
    return union_all(counted, spread_rows)


def _backlog_statement(by: str, structure_id: str | None, end: datetime, gp: str | None = None) -> Any:
    """Requests received before ``end`` and not closed at ``end``: the open ones and those closed since, each an
    index range (``closed_at IS NULL``, ``closed_at >= end``), not a scan of every request ever received."""
    parts = union_all(*(_base(by, structure_id, gp=gp).where(Request.created_at < end, still_open)
                        for still_open in (Request.closed_at.is_(None), Request.closed_at >= end))).subquery("parts")
    columns = [c for c in parts.c if c.name.startswith("g")]
    grouped = select(*columns, func.count().label("n")).group_by(*columns).subquery("open_at_end")
    labelled = _labelled(by, grouped, grouped.c.n).subquery("labelled")
    return select(labelled.c.key, labelled.c.name, func.sum(labelled.c.n)).group_by(labelled.c.key, labelled.c.name)


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
