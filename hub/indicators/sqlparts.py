"""Portable SQL pieces the figures need (SQLite and PostgreSQL alike).

Contract:
- ``seconds_between(a, b)``: ``b - a`` in seconds (float);
- ``percentiles(histogram)``: from a histogram ``(metric, key, value, n)``, per ``(metric, key)`` the count,
  the median and the 90th percentile by the nearest-rank method (the smallest value whose rank is at least
  ``p × n``), with window functions over the histogram's running sums: no row leaves the database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement, Select, Subquery, case


class seconds_between(FunctionElement[Any]):  # noqa: N801
    type = Float()
    inherit_cache = True


@compiles(seconds_between)
def _secs_default(element: seconds_between, compiler: Any, **kw: Any) -> str:
    a, b = list(element.clauses)
    return f"((julianday({compiler.process(b, **kw)}) - julianday({compiler.process(a, **kw)})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _secs_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    a, b = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(b, **kw)} - {compiler.process(a, **kw)}))"


def percentiles(histogram: Subquery) -> Select[Any]:
    """Per ``(metric, key)`` of a histogram ``(metric, key, value, n)``: the number of values, the median and the
    90th percentile (nearest rank: the smallest value whose running count reaches ``p × total``)."""
    metric, key, value, n = histogram.c.metric, histogram.c.key, histogram.c.value, histogram.c.n
    running = select(
        metric.label("metric"), key.label("key"), value.label("value"),
        func.sum(n).over(partition_by=(metric, key), order_by=value, rows=(None, 0)).label("running"),
        func.sum(n).over(partition_by=(metric, key)).label("total"),
    ).subquery("running")
    r, total, v = running.c.running, running.c.total, running.c.value
    median: ColumnElement[Any] = func.min(case((r * 2 >= total, v)))
    p90: ColumnElement[Any] = func.min(case((r * 10 >= total * 9, v)))
    return (select(running.c.metric, running.c.key, func.max(total).label("n"), median.label("median"),
                   p90.label("p90")).group_by(running.c.metric, running.c.key))
