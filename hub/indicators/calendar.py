"""French working days, computed (no download): public holidays from the fixed dates and from Easter.

Contract:
- ``easter(year)`` is Easter Sunday (Gregorian, anonymous algorithm of Meeus/Jones/Butcher);
- ``public_holidays(year)`` the 11 national public holidays (jour de l'an, lundi de Pâques, 1er et 8 mai,
  Ascension, lundi de Pentecôte, 14 juillet, 15 août, Toussaint, 11 novembre, Noël);
- ``is_working_day(day)``: Monday to Friday and not a public holiday;
- ``year_rows(year, start_ordinal)`` the rows of the ``working_days`` table for one year: ``(day, ordinal)`` where
  ``ordinal`` counts the working days up to and including ``day`` since the table's first year, so that
  ``ordinal(end) - ordinal(start)`` is the number of working days after ``start`` up to ``end``.
- ``await ensure_years(session, first, last)`` fills the table for the missing years (idempotent; a row per
  calendar day, 366 at most a year) so that SQL can count working days by a join.
The Alsace-Moselle days (Vendredi saint, 26 décembre) are not counted: the SPSTI's region may add them later.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.models.indicators import WorkingDay

FIRST_YEAR, LAST_YEAR = 2000, 2100


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


def year_rows(year: int, start_ordinal: int) -> list[tuple[date, int]]:
    holidays = public_holidays(year)
    rows, ordinal, day = [], start_ordinal, date(year, 1, 1)
    while day.year == year:
        ordinal += is_working_day(day, holidays)
        rows.append((day, ordinal))
        day += timedelta(days=1)
    return rows


async def ensure_years(session: AsyncSession, first: int, last: int) -> None:
    """Make the table cover ``first``..``last`` (clamped to 2000–2100); years are only ever appended after the
    last one present or before the first, so ordinals stay consistent."""
    first, last = max(first, FIRST_YEAR), min(last, LAST_YEAR)
    low, high = (await session.execute(select(func.min(WorkingDay.day), func.max(WorkingDay.day)))).one()
    if low is not None and low.year <= first and high.year >= last:
        return
    # rebuild the whole covered span: a few thousand small rows, once in years
    span_first = min(first, low.year) if low is not None else first
    span_last = max(last, high.year) if high is not None else last
    await session.execute(delete(WorkingDay))
    rows: list[dict[str, object]] = []
    ordinal = 0
    for year in range(span_first, span_last + 1):
        days = year_rows(year, ordinal)
        rows.extend({"day": day, "ordinal": n} for day, n in days)
        ordinal = days[-1][1]
    await session.execute(insert(WorkingDay), rows)
