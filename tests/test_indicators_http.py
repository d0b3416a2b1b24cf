"""The indicators over the real server: who may read them, the JSON API, CSV exports, the page's markup, the
operational counters of ``/metrics``; refusals recorded by the FHIR API."""

from __future__ import annotations

import csv
import io

import aiohttp

from hub.config import load_settings
from hub.core import Hub
from hub.rights import RightsTable
from tests.accounts_support import otp_for
from tests.inbox_support import ADMIN, ANNE, PASSWORD
from tests.indicators_support import load_march_2026

DIRECTION = "direction@spsti-demo.fr"
COORDINATOR = "tri@spsti-demo.fr"
MARCH = "from=2026-03-01&to=2026-03-31"


async def _login(hub: Hub, url: str, email: str) -> aiohttp.ClientSession:
    client = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    response = await client.post(f"{url}/api/login", json={"email": email, "password": PASSWORD,
                                                           "otp": await otp_for(hub, email)})
    assert response.status == 200, await response.text()
    return client


async def test_who_may_read_the_indicators(demo_hub: Hub, start_server) -> None:
    srv = await start_server(demo_hub)
    async with aiohttp.ClientSession() as anonymous:
        page = await anonymous.get(f"{srv.url}/indicateurs?{MARCH}", allow_redirects=False)
        location = page.headers["Location"]
        assert page.status == 303 and location.startswith("/inbox/login?next=") and "indicateurs" in location
        assert (await anonymous.get(f"{srv.url}/api/indicators?{MARCH}")).status == 401
        assert (await anonymous.get(f"{srv.url}/indicateurs/activity.csv?{MARCH}")).status == 401
    async with await _login(demo_hub, srv.url, ANNE) as physician:
        for path in (f"/indicateurs?{MARCH}", f"/api/indicators?{MARCH}", f"/indicateurs/activity.csv?{MARCH}"):
            refused = await physician.get(f"{srv.url}{path}", allow_redirects=False)
            assert refused.status == 403, path
            assert "ne donne pas accès aux indicateurs" in await refused.text()
    for email in (DIRECTION, ADMIN):
        async with await _login(demo_hub, srv.url, email) as client:
            assert (await client.get(f"{srv.url}/api/indicators?{MARCH}")).status == 200, email


async def test_the_rights_table_decides_who_reads_them(demo_hub: Hub, start_server, tmp_path) -> None:
    """``[roles.<role>] rights`` in guichet.toml: the direction loses the right, the coordination gains it."""
    toml = tmp_path / "guichet.toml"
    toml.write_text('[roles.direction]\nrights = []\n[roles.coordinator]\nrights = ["see-requests", "triage", '
                    '"indicators"]\n', encoding="utf-8")
    demo_hub.rights = RightsTable.from_settings(load_settings({"GUICHET_HOME": str(tmp_path)}, toml))  # as at start
    srv = await start_server(demo_hub)
    async with await _login(demo_hub, srv.url, DIRECTION) as direction:
        assert (await direction.get(f"{srv.url}/api/indicators?{MARCH}")).status == 403
        assert (await direction.get(f"{srv.url}/indicateurs?{MARCH}", allow_redirects=False)).status == 403
    async with await _login(demo_hub, srv.url, COORDINATOR) as coordinator:
        assert (await coordinator.get(f"{srv.url}/api/indicators?{MARCH}")).status == 200
        assert (await coordinator.get(f"{srv.url}/indicateurs/backlog.csv?{MARCH}")).status == 200


async def test_api_csv_and_page(demo_hub: Hub, start_server) -> None:
    await load_march_2026(demo_hub)
    srv = await start_server(demo_hub)
    async with await _login(demo_hub, srv.url, DIRECTION) as client:
        answer = await client.get(f"{srv.url}/api/indicators?{MARCH}&by=channel")
        assert answer.status == 200 and answer.headers["Cache-Control"] == "no-store"
        body = await answer.json()
        assert body["period"] == {"from": "2026-03-01", "to": "2026-03-31", "label": "mars 2026"}
        tables = {t["id"]: t for t in body["tables"]}
        assert list(tables) == ["activity", "delays", "backlog", "refusals", "delivery"]
        activity = {r["key"]: r for r in tables["activity"]["rows"]}
        # email: 6 received = 5 automatically + 1 through triage ("< 5"): 6 and 5 would give the 1 back, so they
        # are hidden too; then email's 5 answered (8 in total, 3 by the API, "< 5") and the 8 routed
        # automatically in total (10 received, 2 through triage)
        assert [activity["email"][c] for c in tables["activity"]["columns"]] == [
            "masqué", "masqué", "< 5", "masqué", "< 5", "< 5"]
        assert [activity["fhir"][c] for c in tables["activity"]["columns"]] == ["< 5", "< 5", 0, "< 5", "< 5", "< 5"]
        assert [activity["*"][c] for c in tables["activity"]["columns"]] == [10, "masqué", "< 5", 8, 5, "< 5"]
        assert activity["*"]["label"] == "Total"
        delays = {r["key"]: r for r in tables["delays"]["rows"]}
        assert delays["email"]["answered"] == "masqué"  # the same cells as the activity table's
        assert (delays["email"]["answer_median"], delays["email"]["answer_p90"]) == (4, 6)
        assert delays["email"]["within_target"] is None  # 4 of 6: the count is masked, so is the share
        assert delays["fhir"]["answer_median"] is None  # fewer than 5 answers
        assert (delays["*"]["answer_median"], delays["*"]["within_target"]) == (1, 60.0)
        assert (delays["*"]["close_median"], delays["*"]["close_p90"]) == (7, 24)
        assert {r["key"]: r["open_at_end"] for r in tables["backlog"]["rows"]} == {
            "email": 5, "fhir": "< 5", "form": "< 5", "*": 8}
        assert [r["pre_return"] for r in tables["refusals"]["rows"]] == ["< 5"] * 4
        # the same figures, by another breakdown, and a bad query
        team = await (await client.get(f"{srv.url}/api/indicators?{MARCH}&by=team")).json()
        # team A: 7 received, all 7 routed automatically, hidden since 8 in total minus team B's 1 would give it
        assert [(r["label"], r["received"], r["routed_automatically"]) for r in team["tables"][0]["rows"]] == [
            ("Équipe A", "masqué", "masqué"), ("Équipe B", "< 5", "< 5"), ("Sans équipe (file de tri)", "< 5", 0),
            ("Total", 10, "masqué")]
        bad = await client.get(f"{srv.url}/api/indicators?from=2026-03-40&to=2026-03-31")
        assert bad.status == 400 and "invalide" in (await bad.json())["error"]
        assert (await client.get(f"{srv.url}/api/indicators?{MARCH}&by=worker")).status == 400
        # CSV: one file per table, French spreadsheet conventions
        exported = await client.get(f"{srv.url}/indicateurs/delays.csv?{MARCH}&by=channel")
        assert exported.status == 200 and exported.headers["Content-Type"].startswith("text/csv")
        assert "indicateurs-delays-channel-2026-03-01-2026-03-31.csv" in exported.headers["Content-Disposition"]
        text = (await exported.read()).decode("utf-8")
        assert text.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
        assert rows[0][:3] == ["Canal", "Répondues", "1re réponse : médiane"]
        assert rows[1][0] == "API (CPTS/DAC)" and rows[1][1] == "< 5"
        assert rows[-1][:4] == ["Total", "8", "1", "6"]
        assert (await client.get(f"{srv.url}/indicateurs/nothing.csv?{MARCH}")).status == 404
        # the page: a period picker, each table with its SVG chart and its CSV link, no script
        page = await client.get(f"{srv.url}/indicateurs?{MARCH}&by=event")
        html = await page.text()
        assert page.status == 200 and "<script" not in html
        assert "Indicateurs du partenariat : mars 2026" in html
        assert html.count("<svg") == 5 and html.count("<table") == 5 and html.count(".csv?") == 5
        assert "Visite de pré-reprise" in html and 'value="2026-03-01"' in html
        wrong = await client.get(f"{srv.url}/indicateurs?from=2026-04-01&to=2026-03-01")
        assert wrong.status == 400 and "La date de fin précède la date de début." in await wrong.text()


async def test_operational_metrics(hub: Hub, start_server) -> None:
    await load_march_2026(hub)
    srv = await start_server(hub)
    async with aiohttp.ClientSession() as http:
        assert (await http.get(f"{srv.url}/healthz")).status == 200
        text = await (await http.get(f"{srv.url}/metrics")).text()
    lines = set(text.splitlines())
    for line in (
            'guichet_intake_total{channel="email",outcome="accepted"} 9.0',
            'guichet_intake_total{channel="fhir",outcome="accepted"} 4.0',
            'guichet_intake_total{channel="form",outcome="refused"} 3.0',
            'guichet_intake_refusals_total{channel="form",reason="consent-missing"} 2.0',
            'guichet_requests{channel="email",status="completed"} 4.0',
            'guichet_outbox_messages{purpose="notify",status="dead"} 1.0',
            'guichet_outbox_delivery_seconds_bucket{le="30",purpose="ack"} 0.0',
            'guichet_outbox_delivery_seconds_bucket{le="60",purpose="ack"} 3.0',
            'guichet_outbox_delivery_seconds_bucket{le="300",purpose="reply"} 1.0',
            'guichet_outbox_delivery_seconds_count{purpose="ack"} 3.0',
            'guichet_outbox_delivery_seconds_sum{purpose="ack"} 180.0',
            'guichet_operational_metrics_up 1.0',
            'guichet_http_request_duration_seconds_count{route="/healthz"} 1.0'):
        assert line in lines, line
