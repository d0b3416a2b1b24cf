"""The partner's MeasureReport over the real FHIR API (SMART token, its own structure's figures only, masked small
counts, valid R4), and the refusals the FHIR API records for the indicators."""

from __future__ import annotations

import json
from datetime import timedelta

import aiohttp
import pytest
from fhir.resources.R4B.measurereport import MeasureReport
from sqlalchemy import select

from hub import clock
from hub.core import Hub
from hub.store.models import IntakeRefusal
from tests.fhir_support import add_client, directory_hub_fixture, example, get_token  # noqa: F401 - fixture
from tests.indicators_support import load_march_2026

SCOPE = "system/MeasureReport.read"
EVALUATE = "/fhir/Measure/partnership/$evaluate-measure"


def _groups(report: dict) -> dict[str, dict]:
    return {g["code"]["coding"][0]["code"]: g for g in report["group"]}


async def test_a_partner_reads_its_own_measure_report(hub: Hub, start_server) -> None:
    await load_march_2026(hub)
    srv = await start_server(hub)
    cpts_a = await add_client(hub, structure="cpts-a", scopes=f"{SCOPE} system/Task.read")
    cpts_b = await add_client(hub, structure="cpts-b", scopes=SCOPE)
    without = await add_client(hub, structure="cpts-a", scopes="system/Task.read")
    async with aiohttp.ClientSession() as http:
        token = await get_token(http, srv.url, cpts_a, SCOPE)
        url = f"{srv.url}{EVALUATE}?periodStart=2026-03-01&periodEnd=2026-03-31"
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as answer:
            assert answer.status == 200 and answer.content_type == "application/fhir+json"
            report = await answer.json()
        MeasureReport.model_validate(report)  # valid R4
        assert (report["status"], report["type"], report["period"]) == (
            "complete", "summary", {"start": "2026-03-01", "end": "2026-03-31"})
        groups = _groups(report)
        received = groups["received"]["population"][0]
        # CPTS A sent 3 requests in March: fewer than 5, so the count is masked, not given
        assert "count" not in received and received["_count"]["extension"][0]["valueCode"] == "masked"
        strata = groups["received"]["stratifier"][0]["stratum"]
        assert [s["value"]["coding"][0]["code"] for s in strata] == ["coordination-request"]
        assert "value" not in groups["answer_median"]["measureScore"]  # 3 answers: no median
        # another CPTS sees only its own (none in March, one open at the end of March)
        token_b = await get_token(http, srv.url, cpts_b, SCOPE)
        async with http.get(url, headers={"Authorization": f"Bearer {token_b}"}) as answer:
            other = await answer.json()
        assert _groups(other)["received"]["population"][0]["count"] == 0
        assert "_count" in _groups(other)["open_at_end"]["population"][0]
        # without the scope, or with bad dates
        task_token = await get_token(http, srv.url, without, "system/Task.read")
        async with http.get(url, headers={"Authorization": f"Bearer {task_token}"}) as answer:
            assert answer.status == 403
        async with http.get(f"{srv.url}{EVALUATE}?periodStart=2026-03-31&periodEnd=2026-03-01",
                            headers={"Authorization": f"Bearer {token}"}) as answer:
            assert answer.status == 400 and (await answer.json())["resourceType"] == "OperationOutcome"
        async with http.get(f"{srv.url}{EVALUATE}") as answer:
            assert answer.status == 401


async def test_a_refusal_by_the_law_is_counted(directory_hub: Hub) -> None:
    from connectors.fhir_api.messaging import process_message
    from connectors.fhir_api.outcome import FhirError
    from hub.audit import Actor
    from hub.smart import AccessGrant

    client = await add_client(directory_hub)
    grant = AccessGrant(client.id, "Logiciel CPTS", "CPTS-NANTES-NORD", ())
    raw = json.dumps(example("pre-return-visit-request")).encode()
    with pytest.raises(FhirError) as refused:
        await process_message(directory_hub, grant, raw, Actor("t"), clock.today() + timedelta(days=60))
    assert refused.value.status == 422
    async with directory_hub.db.session() as session:
        rows = (await session.execute(select(IntakeRefusal))).scalars().all()
    assert {(r.channel, r.event, r.client_id) for r in rows} == {("fhir", "pre-return-visit-request", client.id)}
    assert {r.reason for r in rows} == {i.rule for i in refused.value.issues}
