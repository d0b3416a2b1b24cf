"""Masking of small counts, with complementary suppression, on a hand-made set of figures: what the JSON, the CSV
and the FHIR MeasureReport show, and a reader who subtracts (every relation of every table, by brute force over
the values the markers allow) never finds a hidden count back."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date

from connectors.fhir_api.measure import measure_report
from hub.indicators.config import IndicatorSettings
from hub.indicators.figures import Figures, Group
from hub.indicators.period import month
from hub.indicators.report import HIDDEN, MASKED, build_report
from hub.indicators.suppression import PRIMARY, SECONDARY, suppress


def test_one_small_count_in_a_column_hides_the_next_smallest() -> None:
    values = {"a": 40, "b": 3, "c": 7, "d": 0, "total": 50}
    assert suppress(values, [("total", ["a", "b", "c", "d"])]) == {"b": PRIMARY, "c": SECONDARY}
    # 6 = 1 + 5: "< 5" is 1 to 4 and a hidden count at least 5, so both would be pinned: the total goes too
    assert suppress({"a": 1, "b": 5, "t": 6}, [("t", ["a", "b"])]) == {"a": PRIMARY, "b": SECONDARY, "t": SECONDARY}
    # two small counts protect each other; zeros are never hidden; nothing small, nothing hidden
    assert suppress({"a": 2, "b": 3, "c": 0, "t": 5}, [("t", ["a", "b", "c"])]) == {"a": PRIMARY, "b": PRIMARY}
    assert suppress({"a": 9, "b": 0, "t": 9}, [("t", ["a", "b"])]) == {}


def _figures() -> Figures:
    def g(key: str, received: int, triaged: int, answered: int, within: int, closed: int, waiting: int,
          backlog: int) -> Group:
        spread = {"answer": (answered, 2.0, 6.0)} if answered else {}
        return Group(key, None, received, triaged, answered, within, closed, waiting, backlog, spread)

    groups = [g("email", 40, 3, 30, 25, 20, 6, 22), g("fhir", 12, 0, 11, 9, 8, 0, 4),
              g("form", 9, 9, 7, 3, 6, 1, 3), g("mssante", 2, 0, 2, 2, 1, 0, 1)]
    total = Group("*", None, *(sum(getattr(x, a) for x in groups) for a in (
        "received", "triaged", "answered", "within_target", "closed", "waiting", "backlog")),
        spread={"answer": (50, 2.0, 7.0)})
    return Figures(month(2026, 3), "channel", groups, total,
                   refusals=[("consent-missing", 6, 9), ("employer-cannot-request", 2, 2),
                             ("stoppage-too-short", 7, 7)],
                   refused=(15, 18), delivery=[("ack", 60, 2, 0, 1), ("notify", 30, 6, 1, 0), ("reply", 28, 0, 0, 0)])


def _shown(table: dict) -> dict[tuple[str, str], object]:
    return {(c, row["key"]): row[c] for row in table["rows"] for c in table["columns"]}


def _recoverable(cells: dict[tuple[str, str], object], total: tuple[str, str], parts: list[tuple[str, str]]
                 ) -> list[tuple[str, str]]:
    """The hidden cells of ``total = sum(parts)`` that every assignment the markers allow gives one value."""
    keys = [k for k in (total, *parts) if k in cells]
    ranges = {k: (range(1, 5) if cells[k] == MASKED else range(5, 200) if cells[k] == HIDDEN else [cells[k]])
              for k in keys}
    hidden = [k for k in keys if cells[k] in (MASKED, HIDDEN)]
    if not hidden:
        return []
    seen: dict[tuple[str, str], set[int]] = {k: set() for k in hidden}
    for combo in itertools.product(*(ranges[k] for k in keys)):
        values = dict(zip(keys, combo, strict=True))
        if values[total] == sum(values[p] for p in parts if p in values):
            for k in hidden:
                seen[k].add(int(values[k]))  # type: ignore[call-overload]
    return [k for k, found in seen.items() if len(found) == 1]


def test_what_is_shown_and_that_no_hidden_count_comes_back() -> None:
    report = build_report(_figures(), IndicatorSettings())
    body = report.to_json()
    tables = {t["id"]: t for t in body["tables"]}
    rows = {r["key"]: r for r in tables["activity"]["rows"]}
    # email: 40 = 37 automatically + 3 through triage ("< 5"): 37 is hidden. Through triage: 12 in total, form's 9
    # and zeros would give email's 3 back: form's 9 is hidden, and with it form's 9 received (9 = 0 + 9). MSSanté's
    # 2 routed automatically: the API's 12 is hidden, and so its 12 received (12 = 12 + 0). Waiting: email's 6
    # hidden for form's 1 (7 in total)
    assert [rows["email"][c] for c in tables["activity"]["columns"]] == [40, HIDDEN, MASKED, 30, 20, HIDDEN]
    assert [rows["fhir"][c] for c in tables["activity"]["columns"]] == [HIDDEN, HIDDEN, 0, 11, 8, 0]
    assert [rows["form"][c] for c in tables["activity"]["columns"]] == [HIDDEN, 0, HIDDEN, HIDDEN, HIDDEN, MASKED]
    assert [rows["mssante"][c] for c in tables["activity"]["columns"]] == [MASKED, MASKED, 0, MASKED, MASKED, 0]
    assert [rows["*"][c] for c in tables["activity"]["columns"]] == [63, 51, 12, 50, 35, 7]
    # the share within target is hidden when its count (form: 3) or its whole is hidden
    delays = {r["key"]: r for r in tables["delays"]["rows"]}
    assert delays["form"]["within_target"] is None and delays["fhir"]["within_target"] is None
    assert (delays["email"]["within_target"], delays["*"]["within_target"]) == (62.5, 61.9)
    assert delays["form"]["answer_median"] == 2.0  # a duration over 7 answers gives no count back
    assert {r["key"]: r["open_at_end"] for r in tables["backlog"]["rows"]} == {
        "email": 22, "fhir": MASKED, "form": MASKED, "mssante": MASKED, "*": 30}
    assert {r["key"]: r["pre_return"] for r in tables["refusals"]["rows"]} == {
        "consent-missing": HIDDEN, "employer-cannot-request": MASKED, "stoppage-too-short": 7, "*": 15}
    assert [r["sent_after_retry"] for r in tables["delivery"]["rows"]] == [MASKED, HIDDEN, 0, 8]
    # a reader who subtracts, along every column and every row relation, finds no hidden count back
    for table in tables.values():
        cells = _shown(table)
        keys = [r["key"] for r in table["rows"]]
        for column in table["columns"]:
            if all(isinstance(cells[(column, k)], int | str) for k in keys) and table["id"] != "delays":
                assert _recoverable(cells, (column, "*"), [(column, k) for k in keys if k != "*"]) == [], \
                    (table["id"], column)
        if table["id"] == "activity":
            for k in keys:
                assert _recoverable(cells, ("received", k), [("routed_automatically", k), ("through_triage", k)]) \
                    == [], k
    # the CSV and the FHIR MeasureReport show the same cells
    text = report.table("activity").to_csv()  # type: ignore[union-attr]
    lines = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert ["Formulaire en ligne", HIDDEN, "0", HIDDEN, HIDDEN, HIDDEN, MASKED] in lines
    measure = measure_report(build_report(_figures(), IndicatorSettings()), "cpts-a")
    received = next(g for g in measure["group"] if g["code"]["coding"][0]["code"] == "received")
    strata = {s["value"]["coding"][0]["code"]: s["population"][0] for s in received["stratifier"][0]["stratum"]}
    assert strata["email"] == {"code": strata["email"]["code"], "count": 40}
    assert "count" not in strata["form"] and "count" not in strata["fhir"] and "count" not in strata["mssante"]
    assert date.fromisoformat(measure["period"]["start"]) == date(2026, 3, 1)
