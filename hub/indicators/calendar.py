"""French working days, computed (no download): public holidays from the fixed dates and from Easter.

Contract:
- ``easter(year)`` is Easter Sunday (Gregorian, anonymous algorithm of Meeus/Jones/Butcher);
- ``public_holidays(year)`` the 11 national public holidays (jour de l'an, lundi de Pâques, 1er et 8 mai,
  Ascension, lundi de Pentecôte, 14 juillet, 15 août, Toussaint, 11 novembre, Noël);
- ``is_working_day(day)``: Monday to Friday and not a public holiday;
- ``working_day_ordinal(day)`` counts the working days from 2000-01-01 up to and including ``day`` (negative
  before), so that ``ordinal(end) - ordinal(start)`` is the number of working days after ``start`` up to ``end``:
  the requests store the ordinal of the day they were received, first answered and closed (``requests.created_wd``,
  ``answer_wd``, ``closed_wd``, kept by ``hub.store.models.indicators``) and SQL subtracts.
The Alsace-Moselle days (Vendredi saint, 26 décembre) are not counted: the SPSTI's region may add them later.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache


def easter(year: int) -> date:
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def public_holidays(year: int) -> dict[date, str]:
    sunday = easter(year)
    return {
        date(year, 1, 1): "Jour de l'an",
        sunday + timedelta(days=1): "Lundi de Pâques",
        date(year, 5, 1): "Fête du travail",
        date(year, 5, 8): "Victoire 1945",
        sunday + timedelta(days=39): "Ascension",
        sunday + timedelta(days=50): "Lundi de Pentecôte",
        date(year, 7, 14): "Fête nationale",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice 1918",
        date(year, 12, 25): "Noël",
    }


def is_working_day(day: date, holidays: dict[date, str] | None = None) -> bool:
    return day.weekday() < 5 and day not in (holidays if holidays is not None else public_holidays(day.year))


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 on the same day; negative if reversed)."""
    if end < start:
        return -working_days_between(end, start)
    return sum(1 for n in range(1, (end - start).days + 1) if is_working_day(start + timedelta(days=n)))


EPOCH_YEAR = 2000


@cache
def _year(year: int) -> tuple[int, tuple[int, ...]]:
    """(ordinal of the last day before 1 January of ``year``, running count of working days per day of the year)."""
    holidays = public_holidays(year)
    running, count, day = [], 0, date(year, 1, 1)
    while day.year == year:
        count += is_working_day(day, holidays)
        running.append(count)
        day += timedelta(days=1)
    if year == EPOCH_YEAR:
        return 0, tuple(running)
    if year > EPOCH_YEAR:
        before, days = _year(year - 1)
        return before + days[-1], tuple(running)
    after, _ = _year(year + 1)
    return after - running[-1], tuple(running)


def working_day_ordinal(day: date) -> int:
    if not 1900 <= day.year <= 2200:
        raise ValueError(f"no working-day ordinal for {day.isoformat()}")
    for year in range(EPOCH_YEAR, day.year) if day.year > EPOCH_YEAR else ():  # fill the cache bottom-up (no deep
        _year(year)                                                            # recursion on a cold cache)
    before, running = _year(day.year)
    return before + running[day.timetuple().tm_yday - 1]
