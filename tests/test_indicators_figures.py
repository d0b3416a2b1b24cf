"""Each figure of the indicators on a hand-made data set (``tests/indicators_support.py``), on the test backend
(SQLite by default, PostgreSQL with ``GUICHET_TEST_DATABASE_URL``); the calendar and the period parsing alone."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from hub.core import Hub
from hub.indicators.calendar import easter, public_holidays, working_days_between
from hub.indicators.config import IndicatorSettings
from hub.indicators.figures import Group, compute
from hub.indicators.period import IndicatorError, Period, month, parse_query
from tests.indicators_support import GP_RPPS, load_march_2026

MARCH = month(2026, 3)
TARGETS = IndicatorSettings(5, {"coordination-request": 3})


def counts(g: Group) -> tuple[int, ...]:
    return (g.received, g.triaged, g.answered, g.within_target, g.closed, g.waiting, g.backlog)


def test_easter_and_holidays() -> None:
    assert [easter(y) for y in (2024, 2025, 2026, 2038)] == [
        date(2024, 3, 31), date(2025, 4, 20), date(2026, 4, 5), date(2038, 4, 25)]
    holidays = public_holidays(2026)
    assert len(holidays) == 11
    assert {date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25), date(2026, 7, 14)} <= set(holidays)
    assert working_days_between(date(2026, 3, 31), date(2026, 4, 7)) == 4  # Easter Monday is not counted
    assert working_days_between(date(2026, 3, 7), date(2026, 3, 16)) == 6
    assert working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0


def test_periods() -> None:
    today = date(2026, 5, 17)
    assert parse_query({}, today) == (Period(date(2026, 5, 1), date(2026, 5, 31)), "channel")
    assert parse_query({"quarter": "2026-Q1", "by": "team"}, today) == (
        Period(date(2026, 1, 1), date(2026, 3, 31)), "team")
    assert parse_query({"month": "2024-02"}, today)[0] == Period(date(2024, 2, 1), date(2024, 2, 29))
    assert parse_query({"year": "2025"}, today)[0].label() == "année 2025"
    assert parse_query({"from": "2026-01-10", "to": "2026-02-03"}, today)[0].label() == "du 10/01/2026 au 03/02/2026"
    assert month(2026, 3).label() == "mars 2026"
    for bad in ({"from": "2026-02-30", "to": "2026-03-01"}, {"from": "2026-03-01"}, {"month": "2026-13"},
                {"quarter": "2026-Q5"}, {"from": "2026-03-02", "to": "2026-03-01"}, {"by": "worker"},
                {"from": "2010-01-01", "to": "2020-01-01"}):
        with pytest.raises(IndicatorError):
            parse_query(bad, today)


def test_target_settings() -> None:
    assert IndicatorSettings.from_mapping({}).target("pdp-referral") == 5
    assert IndicatorSettings.from_mapping({"target_days": {"pdp-referral": 10}}).target("pdp-referral") == 10
    for bad in ({"target_days": {"visit": 3}}, {"default_target_days": -1}, {"target_days": {"pdp-referral": "3"}}):
        with pytest.raises(ValueError):
            IndicatorSettings.from_mapping(bad)


async def test_figures_by_channel(hub: Hub) -> None:
    await load_march_2026(hub)
    figures = await compute(hub.db, TARGETS, MARCH, "channel", date(2026, 5, 1))
    by = {g.key: g for g in figures.groups}
    assert set(by) == {"email", "fhir", "form"}
    #                                 received triaged answered within closed waiting backlog
    assert counts(by["email"]) == (6, 1, 5, 4, 3, 1, 5)
    assert counts(by["fhir"]) == (3, 0, 3, 2, 2, 1, 2)  # with CPTS B's, received in February
    assert counts(by["form"]) == (1, 1, 0, 0, 0, 0, 1)
    assert counts(figures.total) == (10, 2, 8, 6, 5, 2, 8)
    assert by["email"].spread == {"answer": (5, 4, 6), "close": (3, 9, 24), "triage": (1, 3, 3)}
    assert by["fhir"].spread == {"answer": (3, 1, 6), "close": (2, 0, 7)}
    assert "triage" not in by["form"].spread  # still in triage: no time out of it yet
    assert figures.total.spread == {"answer": (8, 1, 6), "close": (5, 7, 24), "triage": (1, 3, 3)}
    assert figures.refusals == [("consent-missing", 1, 2), ("employer-cannot-request", 1, 1),
                                ("stoppage-too-short", 1, 1)]
    assert figures.refused == (2, 3)
    assert figures.delivery == [("ack", 3, 0, 0, 0), ("notify", 0, 0, 1, 1), ("reply", 1, 1, 0, 0)]


async def test_figures_by_partner_team_event(hub: Hub) -> None:
    await load_march_2026(hub)
    today = date(2026, 5, 1)
    partner = {g.key: g for g in (await compute(hub.db, TARGETS, MARCH, "partner", today)).groups}
    assert {k: (g.name, g.received, g.backlog) for k, g in partner.items()} == {
        "s:cpts-a": ("CPTS A", 3, 1), "k:gp": (None, 6, 5), "k:worker": (None, 1, 1), "s:cpts-b": ("CPTS B", 0, 1)}
    team = {g.key: g for g in (await compute(hub.db, TARGETS, MARCH, "team", today)).groups}
    assert {k: (g.name, g.received, g.answered, g.backlog) for k, g in team.items()} == {
        "equipe-a": ("Équipe A", 7, 7, 4), "equipe-b": ("Équipe B", 2, 1, 3), "-": (None, 1, 0, 1)}
    event = {g.key: g for g in (await compute(hub.db, TARGETS, MARCH, "event", today)).groups}
    assert {k: counts(g) for k, g in event.items()} == {
        "pre-return-visit-request": (6, 1, 5, 4, 3, 1, 5), "coordination-request": (3, 0, 3, 2, 2, 1, 2),
        "pdp-referral": (1, 1, 0, 0, 0, 0, 1)}


async def test_figures_of_one_partner_and_other_periods(hub: Hub) -> None:
    await load_march_2026(hub)
    today = date(2026, 5, 1)
    mine = await compute(hub.db, TARGETS, MARCH, "event", today, structure_id="cpts-a")
    assert counts(mine.total) == (3, 0, 3, 2, 2, 1, 1)
    assert mine.refusals == [("consent-missing", 1, 1), ("stoppage-too-short", 1, 1)] and mine.refused == (1, 1)
    assert mine.delivery == []
    february = await compute(hub.db, TARGETS, month(2026, 2), "channel", today)
    assert counts(february.total) == (3, 0, 1, 1, 1, 0, 3)  # the one closed on 10 March was open on 28 February
    assert february.refused == (1, 1) and february.delivery == [("ack", 0, 0, 0, 1)]
    # one GP (every email request is Dr Lefèvre's): the email figures, the February ones only in the backlog
    gp = await compute(hub.db, TARGETS, MARCH, "event", today, gp=GP_RPPS)
    assert [g.key for g in gp.groups] == ["pre-return-visit-request"] and gp.gp == GP_RPPS
    assert counts(gp.total) == (6, 1, 5, 4, 3, 1, 5) and gp.total.spread["answer"] == (5, 4, 6)
    assert gp.refusals == [] and gp.delivery == []  # refusals are attributed to no one
    other = await compute(hub.db, TARGETS, MARCH, "event", today, gp="10000000074")
    assert other.groups == [] and counts(other.total) == (0,) * 7
    empty = await compute(hub.db, TARGETS, month(2025, 3), "team", today)
    assert empty.groups == [] and counts(empty.total) == (0,) * 7 and empty.total.spread == {}


async def test_reports_are_reused_for_a_while(hub: Hub) -> None:
    from hub.indicators import Indicators

    await load_march_2026(hub)
    query, today = {"month": "2026-03"}, date(2026, 5, 1)
    cached = Indicators(hub.db, IndicatorSettings(cache_seconds=300))
    first, again = await cached.report(query, today), await cached.report(query, today)
    assert again is first and first.to_json()["computed_at"].endswith("Z")
    other = await cached.report({**query, "by": "team"}, today)
    assert other is not first and other.figures.by == "team"
    fresh = Indicators(hub.db, IndicatorSettings(cache_seconds=0))
    assert await fresh.report(query, today) is not await fresh.report(query, today)
    both = await asyncio.gather(*(Indicators(hub.db, IndicatorSettings()).report(query, today) for _ in range(1)),
                                *(cached.report({"month": "2026-02"}, today) for _ in range(3)))
    assert both[1] is both[2] is both[3]  # concurrent asks share one computation
