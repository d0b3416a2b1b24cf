"""Where decisions come from: the FHIR API (Bundle ``Consent`` at intake, ``GET|POST /fhir/Consent``) and the
worker's follow-up page (``/suivi``), over the real server; each decision then governs the consent gate."""

from __future__ import annotations

import copy
import json
import re
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from bs4 import BeautifulSoup

from hub import clock
from hub.audit import Actor
from hub.consent import followup
from hub.consent import recommendations as reco
from hub.consent.gate import ConsentRefused
from hub.core import Hub
from hub.inbox import actions
from hub.store.models import Request
from tests.consent_support import denied_transfers, worker_form_request
from tests.fhir_support import ALL_SCOPES, add_client, example, get_token, post_message, resource
from tests.inbox_support import ANNE, place, practitioner, viewer

CONSENT_SCOPES = f"{ALL_SCOPES} system/Consent.read system/Consent.write"


def consent_body(task_id: str, purpose: str = "exchange-cpts-dac", kind: str = "permit",
                 status: str = "active") -> bytes:
    return json.dumps({
        "resourceType": "Consent", "status": status,
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
        "dateTime": (clock.today() - timedelta(days=1)).isoformat(),
        "provision": {"type": kind, "purpose": [{"system": "urn:guichet:consent-purpose", "code": purpose}],
                      "data": [{"meaning": "related", "reference": {"reference": f"Task/{task_id}"}}]}}).encode()


async def test_fhir_client_reads_and_records_consent_for_its_own_requests(demo_hub: Hub, start_server: Any) -> None:
    srv = await start_server(demo_hub)
    mine = await add_client(demo_hub, scopes=CONSENT_SCOPES)
    other = await add_client(demo_hub, structure="DAC-44", scopes=CONSENT_SCOPES)
    async with aiohttp.ClientSession() as http:
        token, other_token = await get_token(http, srv.url, mine, CONSENT_SCOPES), await get_token(
            http, srv.url, other, CONSENT_SCOPES)
        bundle = example("coordination-request")
        status, answer = await post_message(http, srv.url, token, bundle)
        assert status == 200, answer
        task_id = str(resource(answer, "Task")["id"])
        # a second Bundle (the same worker) whose Consent names its purposes explicitly
        named = copy.deepcopy(example("coordination-request"))
        resource(named, "Consent")["provision"] = {"type": "permit", "purpose": [
            {"system": "urn:guichet:consent-purpose", "code": "pdp-referral"},
            {"system": "urn:guichet:consent-purpose", "code": "recommendations-employer"}]}
        assert (await post_message(http, srv.url, token, named))[0] == 200

        def auth(t: str, ct: bool = False) -> dict[str, str]:
            return {"Authorization": f"Bearer {t}", **({"Content-Type": "application/fhir+json"} if ct else {})}

        async with http.get(f"{srv.url}/fhir/Consent?data=Task/{task_id}", headers=auth(token)) as r:
            found = await r.json(content_type=None)
        # the client sees the worker's decisions for its purposes only (the demo's CPTS request names the same
        # worker: its consent counts too); never the recommendations (the employer's side is none of its business)
        assert r.status == 200
        codes = [e["resource"]["provision"]["purpose"][0]["code"] for e in found["entry"]]
        assert set(codes) == {"exchange-cpts-dac", "pdp-referral"} and codes[-1] == "pdp-referral"
        first = found["entry"][-2]["resource"]
        assert first["provision"]["purpose"][0]["code"] == "exchange-cpts-dac"
        assert first["provision"]["type"] == "permit" and first["status"] == "active"
        assert first["extension"][0]["valueCode"] == "api"
        async with http.post(f"{srv.url}/fhir/Consent", data=consent_body(task_id, status="inactive"),
                             headers=auth(token, True)) as r:
            created = await r.json(content_type=None)
        assert r.status == 201 and created["status"] == "inactive" and r.headers["Location"].endswith(created["id"])
        for body, code, words in (
                (consent_body(task_id, purpose="recommendations-employer"), 403, "ne peut enregistrer"),
                (consent_body(task_id, purpose="made-up"), 403, "ne peut enregistrer"),
                (json.dumps({"resourceType": "Consent", "status": "active"}).encode(), 400, "invalide"),
                (consent_body("").replace(b'"Task/"', b'"Patient/1"'), 422, "provision.data"),
                (b"{not json", 400, "invalide")):
            async with http.post(f"{srv.url}/fhir/Consent", data=body, headers=auth(token, True)) as r:
                outcome = await r.json(content_type=None)
            assert r.status == code and outcome["resourceType"] == "OperationOutcome", outcome
            assert words in outcome["issue"][0]["details"]["text"], outcome
        # another client: nothing to read, nothing to record
        async with http.get(f"{srv.url}/fhir/Consent?data=Task/{task_id}", headers=auth(other_token)) as r:
            assert (await r.json(content_type=None))["total"] == 0
        async with http.post(f"{srv.url}/fhir/Consent", data=consent_body(task_id),
                             headers=auth(other_token, True)) as r:
            assert r.status == 404
        # a token without the Consent scopes
        plain = await get_token(http, srv.url, mine, ALL_SCOPES)
        async with http.get(f"{srv.url}/fhir/Consent?data=Task/{task_id}", headers=auth(plain)) as r:
            assert r.status == 403
        # the withdrawal recorded through the API closes the reply path…
        await place(demo_hub, task_id, assigned_practitioner_id=(await practitioner(demo_hub, "anne")).id)
        async with demo_hub.db.session() as session:
            request = await session.get(Request, task_id)
            assert request is not None
        anne = await viewer(demo_hub, ANNE)
        with pytest.raises(ConsentRefused, match="CPTS ou le DAC"):
            await actions.reply(demo_hub, anne, request.thread_id, "Avis", "t")
        # …consent given again opens it; a later withdrawal hides the answer from the client's reads
        async with http.post(f"{srv.url}/fhir/Consent", data=consent_body(task_id), headers=auth(token, True)) as r:
            assert r.status == 201
        await actions.reply(demo_hub, anne, request.thread_id, "Avis du médecin du travail.", "t")

        async def comms() -> list[str]:
            async with http.get(f"{srv.url}/fhir/Communication?based-on=Task/{task_id}", headers=auth(token)) as r:
                found = await r.json(content_type=None)
            return [e["resource"]["payload"][0]["contentString"] for e in found["entry"]]

        assert "Avis du médecin du travail." in await comms()
        async with http.post(f"{srv.url}/fhir/Consent", data=consent_body(task_id, status="inactive"),
                             headers=auth(token, True)) as r:
            assert r.status == 201
        after = await comms()
        assert after and "Avis du médecin du travail." not in after  # the client's own message stays
    assert len(await denied_transfers(demo_hub, task_id)) == 2  # the reply, then the read


def _choice_forms(html: str) -> dict[str, dict[str, str]]:
    soup = BeautifulSoup(html, "html.parser")
    out = {}
    for form in soup.select("form.choice"):
        fields = {str(i["name"]): str(i.get("value", "")) for i in form.find_all("input")}
        buttons = {str(b["value"]): b.get_text(strip=True) for b in form.find_all("button")}
        out[fields["purpose"]] = {**fields, **{f"button:{k}": v for k, v in buttons.items()}}
    return out


async def test_the_worker_objects_on_the_follow_up_page(demo_hub: Hub, start_server: Any) -> None:
    srv = await start_server(demo_hub)
    thread_id, task_id, reference, token = await worker_form_request(demo_hub)
    page_url = f"{srv.url}/suivi/{reference}?t={token}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(page_url) as r:
            html = await r.text()
        forms = _choice_forms(html)
        assert r.status == 200 and set(forms) == {"recommendations-employer", "recommendations-medecin-conseil"}
        employer = forms["recommendations-employer"]
        assert employer["button:objection"] == "Je m'oppose à cette transmission"
        body = {k: v for k, v in employer.items() if not k.startswith("button:")}
        async with http.post(f"{srv.url}/suivi/{reference}", data={**body, "decision": "objection"},
                             allow_redirects=False) as r:
            assert r.status == 303 and "choix=ok" in r.headers["Location"]
        async with http.get(srv.url + r.headers["Location"]) as r:
            after = await r.text()
        assert "Votre choix a bien été enregistré" in after
        forms = _choice_forms(after)
        assert "button:consent" in forms["recommendations-employer"]  # lift it again later
        assert re.search(r"opposition</span>", after)
        # a forged or replayed post without the form token changes nothing
        async with aiohttp.ClientSession() as stranger, stranger.post(
                f"{srv.url}/suivi/{reference}", data={**body, "decision": "consent", "csrf": "x"}) as r:
            assert r.status == 403
        async with http.post(f"{srv.url}/suivi/{reference}", data={**body, "t": "wrong", "decision": "consent"}) as r:
            assert r.status == 404
        async with http.post(f"{srv.url}/suivi/{reference}",
                             data={**body, "purpose": "exchange-gp", "decision": "consent"}) as r:
            assert r.status == 400 and "pas proposé" in await r.text()
    draft = reco.RecommendationDraft(text="Poste assis.", recipients=["employer"],
                                     addresses={"employer": "rh@example.fr"})
    with pytest.raises(ConsentRefused, match="opposition"):
        await reco.send(demo_hub, await viewer(demo_hub, ANNE), thread_id, draft, "t")
    # the médecin conseil was not objected to
    draft.recipients, draft.addresses["medecin-conseil"] = ["medecin-conseil"], "mc@cpam.mssante.fr"
    assert len(await reco.send(demo_hub, await viewer(demo_hub, ANNE), thread_id, draft, "t")) == 1


async def test_a_third_party_link_decides_nothing_for_the_worker(demo_hub: Hub, start_server: Any) -> None:
    srv = await start_server(demo_hub)
    _, _, reference, token = await worker_form_request(demo_hub, kind="gp")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{srv.url}/suivi/{reference}?t={token}") as r:
            html = await r.text()
        assert r.status == 200 and "Vos choix" not in html
        csrf = BeautifulSoup(html, "html.parser").find("input", {"name": "csrf"})
        assert csrf is None  # no form at all on a third party's page


async def test_a_worker_withdraws_a_pdp_referral_consent(demo_hub: Hub) -> None:
    hub = demo_hub
    _, _, reference, token = await worker_form_request(hub, event="pdp-referral")
    offered = await followup.choices(hub, reference, token, Actor("suivi", "t"))
    assert offered is not None and [(c.purpose, c.state, c.offered) for c in offered] == [
        ("pdp-referral", "accord", (("withdrawn", "Je retire mon accord"),))]
    assert await followup.decide(hub, reference, token, "pdp-referral", "withdrawn", Actor("suivi", "t"))
    again = await followup.choices(hub, reference, token, Actor("suivi", "t"))
    assert again is not None and again[0].state == "retrait de l'accord"
    assert again[0].offered == (("consent", "Je donne mon accord"),)
    assert await followup.decide(hub, reference, "not-the-token", "pdp-referral", "consent", Actor("x")) is None
