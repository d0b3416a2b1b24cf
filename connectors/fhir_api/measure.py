"""The partnership indicators of the calling CPTS/DAC as a FHIR R4 ``MeasureReport`` (``$evaluate-measure``).

Contract: ``GET /fhir/Measure/partnership/$evaluate-measure?periodStart=YYYY-MM-DD&periodEnd=YYYY-MM-DD`` (scope
``system/MeasureReport.read``) answers a ``summary`` MeasureReport over the requests sent by the clients of the
caller's own structure (``hub.indicators``, ``structure_id``): one group per figure, the counts stratified by
kind of request. A count from 1 to 4 is not given: its ``count`` is replaced by the ``data-absent-reason``
extension ``masked``; so are medians and shares over fewer than 5 requests. No health data, no other partner's
figures. Bad dates: 400 OperationOutcome.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from connectors.fhir_api.http_common import authenticate
from connectors.fhir_api.outcome import fhir_response, one
from connectors.fhir_api.routes_fhir import fhir_handler
from hub import clock
from hub.indicators import IndicatorError, Indicators
from hub.indicators.report import Cell, Report
from hub.web.keys import HUB

MEASURE = "urn:guichet:measure:partnership"
INDICATOR_SYSTEM = "urn:guichet:indicator"
POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
UCUM = "http://unitsofmeasure.org"
INDICATORS: web.AppKey[Indicators] = web.AppKey("fhir_api_indicators", Indicators)
COUNTS = (("activity", "received"), ("activity", "through_triage"), ("activity", "answered"),
          ("activity", "closed"), ("activity", "waiting_for_sender"), ("backlog", "open_at_end"))
SCORES = (("delays", "answer_median", "d"), ("delays", "answer_p90", "d"), ("delays", "within_target", "%"),
          ("delays", "close_median", "d"), ("delays", "close_p90", "d"))


def _masked() -> dict[str, Any]:
    return {"extension": [{"url": ABSENT, "valueCode": "masked"}]}


def _population(cell: Cell) -> dict[str, Any]:
    out: dict[str, Any] = {"code": {"coding": [{"system": POPULATION, "code": "initial-population"}]}}
    if cell.value is None:
        out["_count"] = _masked()
    else:
        out["count"] = int(cell.value)
    return out


def _code(code: str, text: str) -> dict[str, Any]:
    return {"coding": [{"system": INDICATOR_SYSTEM, "code": code}], "text": text}


def _cells(report: Report, table_id: str, column: str) -> tuple[str, dict[str, Cell]]:
    table = report.table(table_id)
    assert table is not None
    index = [c for c, _ in table.columns].index(column)
    return table.columns[index][1], {key: cells[index] for key, _, cells in table.rows}


def measure_report(report: Report, structure_id: str) -> dict[str, Any]:
    period = report.figures.period
    groups: list[dict[str, Any]] = []
    for table_id, column in COUNTS:
        header, cells = _cells(report, table_id, column)
        strata = [{"value": {"coding": [{"system": "urn:guichet:message-event", "code": key}]},
                   "population": [_population(cell)]} for key, cell in cells.items() if key != "*"]
        group: dict[str, Any] = {"code": _code(column, header), "population": [_population(cells["*"])]}
        if strata:
            group["stratifier"] = [{"code": [{"text": "kind of request"}], "stratum": strata}]
        groups.append(group)
    for table_id, column, unit in SCORES:
        header, cells = _cells(report, table_id, column)
        total = cells.get("*")
        score: dict[str, Any] = {"unit": "jours ouvrés" if unit == "d" else "%", "system": UCUM, "code": unit}
        if total is None or total.value is None:
            score = {**score, "extension": _masked()["extension"]}
        else:
            score["value"] = total.value
        groups.append({"code": _code(column, header), "measureScore": score})
    return {
        "resourceType": "MeasureReport",
        "identifier": [{"system": "urn:guichet:measure-report",
                        "value": f"{structure_id}:{period.start.isoformat()}:{period.end.isoformat()}"}],
        "status": "complete", "type": "summary", "measure": MEASURE,
        "date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "group": groups,
    }


@fhir_handler
async def evaluate_measure(request: web.Request) -> web.Response:
    grant = await authenticate(request, "system/MeasureReport.read")
    query = {"from": request.query.get("periodStart", ""), "to": request.query.get("periodEnd", ""), "by": "event"}
    if not (query["from"] and query["to"]):
        raise one(400, "required", "periodStart", "Paramètres periodStart et periodEnd requis (AAAA-MM-JJ).",
                  "Parameters periodStart and periodEnd are required (YYYY-MM-DD).", "search-parameter")
    try:
        report = await request.app[INDICATORS].report(query, clock.today(), structure_id=grant.structure_id)
    except IndicatorError as exc:
        raise one(400, "invalid", "periodStart", exc.message, "Invalid period: periodStart and periodEnd are "
                  "YYYY-MM-DD dates, start before end, at most five years.", "search-parameter") from exc
    return fhir_response(measure_report(report, grant.structure_id))


def add_routes(app: web.Application) -> None:
    app[INDICATORS] = Indicators.from_settings(app[HUB].db, app[HUB].settings)
    app.router.add_get("/fhir/Measure/partnership/$evaluate-measure", evaluate_measure)
