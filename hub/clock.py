"""The service's calendar: French law counts days (arrêts, consent dates, working days) in Europe/Paris, whatever
the server's own time zone (containers run in UTC: between 23:00 and midnight UTC it is already tomorrow in Paris).

Contract: ``PARIS`` (the zone); ``today()`` the current date in Paris — every "today" of the hub and its connectors
comes from here; ``in_paris(moment)`` an aware datetime seen in Paris, for what users read.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def today() -> date:
    return datetime.now(PARIS).date()


def in_paris(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)
