"""What the caller asks for: a period (month, quarter, year or two dates) and a breakdown.

Contract: ``parse_query(query, today)`` reads ``from``/``to`` (``YYYY-MM-DD``, both inclusive) or ``month``
(``YYYY-MM``), ``quarter`` (``YYYY-Qn``) or ``year`` (``YYYY``), and ``by`` (one of ``DIMENSIONS``, default
``channel``); without a period it is the current month. ``parse_gp(query)`` reads ``gp``, an RPPS (11 digits,
Luhn key) or nothing. Bad input raises :class:`IndicatorError` with a French sentence (HTTP 400).
``Period.bounds()`` are the instants ``[start, end)`` SQL compares timestamps with: midnight in France.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from hub import clock
from hub.identifiers import check_rpps, clean_digits

DIMENSIONS = ("channel", "partner", "team", "event")
DIMENSION_LABELS = {"channel": "Canal", "partner": "Partenaire", "team": "Équipe", "event": "Type de demande"}
MAX_DAYS = 366 * 5
MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")


class IndicatorError(Exception):
    """Bad input for the indicators, with a French message for the user."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def bounds(self) -> tuple[datetime, datetime]:
        # days in France: from midnight in Paris on the first day to midnight in Paris after the last
        return (datetime.combine(self.start, time.min, clock.PARIS),
                datetime.combine(self.end + timedelta(days=1), time.min, clock.PARIS))

    def label(self) -> str:
        s, e = self.start, self.end
        if s.day == 1 and e == _month_end(s.year, s.month):
            return f"{MONTHS_FR[s.month - 1]} {s.year}"
        if s.day == 1 and s.month % 3 == 1 and e == _month_end(s.year, s.month + 2):
            return f"{(s.month + 2) // 3}{'er' if s.month == 1 else 'e'} trimestre {s.year}"
        if (s.month, s.day) == (1, 1) and (e.month, e.day) == (12, 31) and s.year == e.year:
            return f"année {s.year}"
        return f"du {s:%d/%m/%Y} au {e:%d/%m/%Y}"


def _month_end(year: int, month: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def month(year: int, number: int) -> Period:
    return Period(date(year, number, 1), _month_end(year, number))


def quarter(year: int, number: int) -> Period:
    return Period(date(year, 3 * number - 2, 1), _month_end(year, 3 * number))


def year_period(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31))


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise IndicatorError(f"Date « {value[:20]} » invalide pour « {name} » : attendu AAAA-MM-JJ.") from None


def parse_period(query: Mapping[str, str], today: date) -> Period:
    if query.get("from") or query.get("to"):
        if not (query.get("from") and query.get("to")):
            raise IndicatorError("Indiquez les deux dates « from » et « to » (AAAA-MM-JJ).")
        period = Period(_date(query["from"], "from"), _date(query["to"], "to"))
    elif query.get("month"):
        m = re.fullmatch(r"(\d{4})-(\d{2})", query["month"])
        if not m or not 1 <= int(m[2]) <= 12:
            raise IndicatorError(f"Mois « {query['month'][:20]} » invalide : attendu AAAA-MM.")
        period = month(int(m[1]), int(m[2]))
    elif query.get("quarter"):
        m = re.fullmatch(r"(\d{4})-[Tt]?[Qq]?([1-4])", query["quarter"])
        if not m:
            raise IndicatorError(f"Trimestre « {query['quarter'][:20]} » invalide : attendu AAAA-Qn (n de 1 à 4).")
        period = quarter(int(m[1]), int(m[2]))
    elif query.get("year"):
        if not re.fullmatch(r"\d{4}", query["year"]):
            raise IndicatorError(f"Année « {query['year'][:20]} » invalide : attendu AAAA.")
        period = year_period(int(query["year"]))
    else:
        period = month(today.year, today.month)
    if period.end < period.start:
        raise IndicatorError("La date de fin précède la date de début.")
    if (period.end - period.start).days > MAX_DAYS:
        raise IndicatorError("Période trop longue : cinq ans au plus.")
    if not (2000 <= period.start.year and period.end.year <= 2100):
        raise IndicatorError("Période hors des années 2000 à 2100.")
    return period


def parse_by(query: Mapping[str, str]) -> str:
    by = query.get("by") or "channel"
    if by not in DIMENSIONS:
        raise IndicatorError(f"Regroupement « {by[:20]} » inconnu : attendu {', '.join(DIMENSIONS)}.")
    return by


def parse_gp(query: Mapping[str, str]) -> str | None:
    value = (query.get("gp") or "").strip()
    if not value:
        return None
    if check_rpps(value) is not None:
        raise IndicatorError(f"Numéro RPPS « {value[:20]} » invalide : 11 chiffres attendus, clé de contrôle comprise.")
    return clean_digits(value)


def parse_query(query: Mapping[str, str], today: date) -> tuple[Period, str]:
    return parse_period(query, today), parse_by(query)
