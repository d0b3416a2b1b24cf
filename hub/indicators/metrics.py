"""Operational counters for ``/metrics``, read from the database at scrape time.

Contract: ``OperationalMetrics(db, ttl)`` is a prometheus-client collector (register it on the app's registry);
``await metrics.refresh()`` runs a few grouped counts when the cached ones are older than ``ttl`` seconds, and
``collect()`` yields them. Because they come from the shared database, every instance reports the same totals
(nothing is kept in one process's memory). Families (no health data in any label):
- ``guichet_intake_total{channel, outcome}``: requests accepted (``accepted``) and refused by the law checks
  (``refused``);
- ``guichet_intake_refusals_total{channel, reason}``: one per refusal reason;
- ``guichet_requests{channel, status}``: requests by channel and current Task status (closed ones by outcome);
- ``guichet_outbox_messages{purpose, status}``: outgoing messages by purpose and delivery status;
- ``guichet_outbox_delivery_seconds{purpose}``: histogram of the time from queueing to delivery;
- ``guichet_operational_metrics_up``: 1 when the last refresh could read the database, else 0.
The HTTP latency histogram (per route) is kept by the app itself (``hub.web.app``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from sqlalchemy import Numeric, and_, case, cast, func, select

from hub.indicators.sqlparts import seconds_between
from hub.store.db import Database
from hub.store.models import IntakeRefusal, OutboxItem, Request, Thread

DELIVERY_BUCKETS = (1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 24 * 3600.0)


class OperationalMetrics:
    def __init__(self, db: Database, ttl: float = 15.0) -> None:
        self.db = db
        self.ttl = ttl
        self._at = 0.0
        self._families: list[Metric] = []
        self._up = 0

    def describe(self) -> list[Metric]:
        return []  # families are only known after a refresh: let the registry call collect() when it needs to

    def collect(self) -> Iterator[Metric]:
        yield from self._families
        up = GaugeMetricFamily("guichet_operational_metrics_up", "1 when the database counters could be read")
        up.add_metric([], self._up)
        yield up

    async def refresh(self) -> None:
        if time.monotonic() - self._at < self.ttl:
            return
        try:
            self._families = await self._read()
            self._up = 1
        except Exception:  # noqa: BLE001 - the database is down: /metrics still answers, with up = 0
            self._up = 0
        self._at = time.monotonic()

    async def _read(self) -> list[Metric]:
        o = OutboxItem
        delay = func.round(cast(seconds_between(o.created_at, o.sent_at), Numeric), 3)  # julianday is not exact
        sent = and_(o.status == "sent", o.sent_at.is_not(None))
        buckets = [func.sum(case((and_(sent, delay <= b), 1), else_=0)) for b in DELIVERY_BUCKETS]
        async with self.db.session() as session:
            by_status = (await session.execute(
                select(Thread.channel, Request.status, func.count()).join(Thread, Thread.id == Request.thread_id)
                .group_by(Thread.channel, Request.status))).all()
            refusals = (await session.execute(
                select(IntakeRefusal.channel, IntakeRefusal.reason, func.count()).group_by(
                    IntakeRefusal.channel, IntakeRefusal.reason))).all()
            refused = (await session.execute(
                select(IntakeRefusal.channel, func.count(func.distinct(IntakeRefusal.refusal_id)))
                .group_by(IntakeRefusal.channel))).all()
            outbox = (await session.execute(select(o.purpose, o.status, func.count()).group_by(o.purpose, o.status))
                      ).all()
            delivery = (await session.execute(
                select(o.purpose, func.sum(case((sent, 1), else_=0)), func.sum(case((sent, delay), else_=0.0)),
                       *buckets).group_by(o.purpose))).all()
        intake = CounterMetricFamily("guichet_intake", "Requests accepted or refused by the law checks",
                                     labels=["channel", "outcome"])
        accepted: dict[str, int] = {}
        for channel, _, n in by_status:
            accepted[channel] = accepted.get(channel, 0) + int(n)
        for channel, n in sorted(accepted.items()):
            intake.add_metric([channel, "accepted"], n)
        for channel, n in refused:
            intake.add_metric([channel, "refused"], int(n))
        reasons = CounterMetricFamily("guichet_intake_refusals", "Law-check refusal reasons",
                                      labels=["channel", "reason"])
        for channel, reason, n in refusals:
            reasons.add_metric([channel, reason], int(n))
        requests = GaugeMetricFamily("guichet_requests", "Requests by channel and current Task status",
                                     labels=["channel", "status"])
        for channel, status, n in by_status:
            requests.add_metric([channel, status], int(n))
        messages = GaugeMetricFamily("guichet_outbox_messages", "Outgoing messages by purpose and status",
                                     labels=["purpose", "status"])
        for purpose, status, n in outbox:
            messages.add_metric([purpose, status], int(n))
        latency = HistogramMetricFamily("guichet_outbox_delivery_seconds", "Time from queueing to delivery",
                                        labels=["purpose"])
        for purpose, count, total, *cumulative in delivery:
            points: list[tuple[str, Any]] = [(_le(b), int(c or 0)) for b, c in zip(DELIVERY_BUCKETS, cumulative,
                                                                                    strict=True)]
            latency.add_metric([purpose], [*points, ("+Inf", int(count or 0))], sum_value=round(float(total or 0.0), 3))
        return [intake, reasons, requests, messages, latency]


def _le(bound: float) -> str:
    return str(int(bound)) if bound.is_integer() else str(bound)
