"""The service's calendar: French law counts days (arrêts, consent dates, working days) in Europe/Paris, whatever
the server's own time zone (containers run in UTC: between 23:00 and midnight UTC it is already tomorrow in Paris).

Contract: ``PARIS`` (the zone); ``today()`` the current date in Paris — every "today" of the hub and its connectors
comes from here; ``in_paris(moment)`` a stored (aware UTC) datetime seen in Paris; ``fr_datetime(moment)``
("30/11/2026 à 23:48") and ``fr_date(moment)`` ("30/11/2026") are how pages and emails show a moment: in Paris
time, never UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def today() -> date:
    return datetime.now(PARIS).date()


def in_paris(moment: datetime) -> datetime:
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(PARIS)


def fr_datetime(moment: datetime) -> str:
    return f"{in_paris(moment):%d/%m/%Y à %H:%M}"


def fr_date(moment: datetime) -> str:
    return f"{in_paris(moment):%d/%m/%Y}"
