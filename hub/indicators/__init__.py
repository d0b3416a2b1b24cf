"""Partnership indicators: figures of a period computed by SQL, masked, as tables, charts, CSV, JSON.

Contract: ``Indicators(db, settings)`` is built once per app; ``await indicators.report(query, today,
structure_id=None)`` parses the query (``hub.indicators.period``), computes (``figures``) and masks (``report``);
raises :class:`IndicatorError` (French message, HTTP status) on bad input. ``VIEWER_ROLES`` may read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from hub.config import Settings
from hub.indicators.config import IndicatorSettings
from hub.indicators.figures import compute
from hub.indicators.period import IndicatorError, parse_query
from hub.indicators.report import Report, build_report
from hub.store.db import Database

VIEWER_ROLES = ("direction", "admin")

__all__ = ["VIEWER_ROLES", "IndicatorError", "IndicatorSettings", "Indicators", "Report"]


class Indicators:
    def __init__(self, db: Database, settings: IndicatorSettings) -> None:
        self.db = db
        self.settings = settings

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> Indicators:
        return cls(db, IndicatorSettings.from_settings(settings))

    async def report(self, query: Mapping[str, str], today: date, structure_id: str | None = None) -> Report:
        period, by = parse_query(query, today)
        figures = await compute(self.db, self.settings, period, by, today, structure_id)
        return build_report(figures, self.settings)
