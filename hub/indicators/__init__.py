"""Partnership indicators: figures of a period computed by SQL, masked, as tables, charts, CSV, JSON.

Contract: ``Indicators(db, settings)`` is built once per app; ``await indicators.report(query, today,
structure_id=None, gp=None)`` parses the query (``hub.indicators.period``; ``gp`` from the query unless given),
computes (``figures``) and masks (``report``);
raises :class:`IndicatorError` (French message, HTTP status) on bad input. Who may read them is the
``indicators`` right of ``hub.rights`` (the one rights table), checked by the pages.

A computed report is kept ``settings.cache_seconds`` (default 300; 0 disables it) per (period, breakdown,
partner, GP), at most ``CACHE_SIZE`` of them, and concurrent asks for the same one share a single computation: a
year's figures cost a few hundred milliseconds of database work, a dashboard is read far more often than
requests change, and the page says when its figures were computed. The cache is an optimisation only: each
instance computes the same figures from the shared database.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import date

from hub.config import Settings
from hub.indicators.config import IndicatorSettings
from hub.indicators.figures import compute
from hub.indicators.period import IndicatorError, Period, parse_gp, parse_query
from hub.indicators.report import Report, build_report
from hub.store.db import Database

CACHE_SIZE = 64

__all__ = ["IndicatorError", "IndicatorSettings", "Indicators", "Report"]

Key = tuple[Period, str, str | None, str | None]


class Indicators:
    def __init__(self, db: Database, settings: IndicatorSettings) -> None:
        self.db = db
        self.settings = settings
        self._cache: OrderedDict[Key, tuple[float, asyncio.Future[Report]]] = OrderedDict()

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> Indicators:
        return cls(db, IndicatorSettings.from_settings(settings))

    async def report(self, query: Mapping[str, str], today: date, structure_id: str | None = None,
                     gp: str | None = None) -> Report:
        period, by = parse_query(query, today)
        gp = gp or parse_gp(query)
        if self.settings.cache_seconds <= 0:
            return await self._compute(period, by, today, structure_id, gp)
        key, now = (period, by, structure_id, gp), time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self.settings.cache_seconds and not (
                cached[1].done() and cached[1].exception() is not None):
            self._cache.move_to_end(key)
            return await asyncio.shield(cached[1])
        future: asyncio.Future[Report] = asyncio.get_running_loop().create_future()
        self._cache[key] = (now, future)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        try:
            future.set_result(await self._compute(period, by, today, structure_id, gp))
        except BaseException as exc:
            future.set_exception(exc)
            self._cache.pop(key, None)
            future.exception()  # retrieved: no "never retrieved" warning
            raise
        return future.result()

    async def _compute(self, period: Period, by: str, today: date, structure_id: str | None, gp: str | None
                       ) -> Report:
        figures = await compute(self.db, self.settings, period, by, today, structure_id, gp)
        return build_report(figures, self.settings)
