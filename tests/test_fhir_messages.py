"""``$process-message``: each profile rule, the law, idempotency and conflicts, media type and size limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from hub import clock
from hub.core import Hub
from hub.store.models import Message, Practitioner, Request, Thread
from tests.fhir_support import (  # noqa: F401 - directory_hub_fixture is a fixture
    Client,
    add_client,
    directory_hub_fixture,
    entry_of,
    example,
    get_token,
    post_message,
    resource,
)


@dataclass
class Fhir:
    url: str
    http: aiohttp.ClientSession
    hub: Hub
    client: Client
    token: str

    async def post(self, bundle: dict[str, Any] | bytes, **kw: Any) -> tuple[int, dict[str, Any]]:
        return await post_message(self.http, self.url, self.token, bundle, **kw)

    async def payload(self, task_id: str) -> dict[str, Any]:
        async with self.hub.db.session() as session:
            row = await session.get(Request, task_id)
            assert row is not None
            data: dict[str, Any] = await self.hub.sealer.open_json(session, row.data_key_id, "requests", row.id,
                                                                   "payload", row.payload_enc)
            return data


@pytest.fixture
async def fhir(directory_hub: Hub, start_server: Any) -> AsyncIterator[Fhir]:
    srv = await start_server(directory_hub)
    client = await add_client(directory_hub)
    async with aiohttp.ClientSession() as http:
        yield Fhir(srv.url, http, directory_hub, client, await get_token(http, srv.url, client))


def task_of(answer: dict[str, Any]) -> dict[str, Any]:
    return resource(answer, "Task")


def expressions(outcome: dict[str, Any]) -> list[str]:
    assert outcome["resourceType"] == "OperationOutcome"
    for issue in outcome["issue"]:  # every issue says what to fix, in French and in English
        assert issue["details"]["text"] and issue["diagnostics"]
    return [e for issue in outcome["issue"] for e in issue["expression"]]


@pytest.mark.parametrize("event", ["pre-return-visit-request", "pdp-referral", "coordination-request"])
async def test_each_example_creates_a_routed_task(fhir: Fhir, event: str) -> None:
    bundle = example(event)
    status, answer = await fhir.post(bundle)
    assert status == 200, answer
    header = resource(answer, "MessageHeader")
    assert answer["type"] == "message"
    assert header["response"] == {"identifier": resource(bundle, "MessageHeader")["id"], "code": "ok"}
    task = task_of(answer)
    assert header["focus"][0]["reference"].endswith(f"Task/{task['id']}") and task["status"] == "requested"
    async with fhir.hub.db.session() as session:
        request = await session.get(Request, task["id"])
        assert request is not None and request.event == event
        thread = await session.get(Thread, request.thread_id)
        assert thread is not None and thread.client_id == fhir.client.id and thread.channel == "fhir"
        raw = (await session.execute(select(Message).where(Message.request_id == request.id))).scalar_one()
        assert raw.raw_enc is not None
        stored = await fhir.hub.sealer.open(session, raw.data_key_id, "messages", raw.id, "raw", raw.raw_enc)
    assert json.loads(stored) == bundle  # the request bytes are kept as sent
    payload = await fhir.payload(task["id"])
    assert payload["client_id"] == fhir.client.id
    assert payload["requester"]["structure_id"] == "CPTS-NANTES-NORD"


async def test_employer_siret_routes_to_the_employers_physician(fhir: Fhir) -> None:
    status, answer = await fhir.post(example("pre-return-visit-request"))
    assert status == 200
    async with fhir.hub.db.session() as session:
        request = await session.get(Request, task_of(answer)["id"])
        assert request is not None and request.employer_siret == "04423065100018" and not request.in_triage
        doctor = await session.get(Practitioner, request.assigned_practitioner_id)
    assert doctor is not None and doctor.rpps == "10000000017"
    payload = await fhir.payload(request.id)
    assert payload["requester"]["kind"] == "gp" and payload["requester"]["rpps"] == "10000000074"
    assert payload["stoppage"]["cause"] == "illness" and payload["consent"]["decision"] == "permit"
    assert payload["worker"]["family_name"] == "Kerbrat" and payload["worker"]["residence_commune"] == "44109"


async def test_ins_is_kept_only_for_a_qualified_identity(fhir: Fhir) -> None:
    qualified = example("pdp-referral")
    status, answer = await fhir.post(qualified)
    assert status == 200
    assert (await fhir.payload(task_of(answer)["id"]))["worker"]["ins"] == "291112A01234525"
    unqualified = example("pdp-referral")
    resource(unqualified, "Patient").pop("extension")
    status, answer = await fhir.post(unqualified)
    assert status == 200
    worker = (await fhir.payload(task_of(answer)["id"]))["worker"]
    assert worker["ins"] is None and worker["family_name"] == "Guénolé"


async def test_same_message_twice_gives_the_same_answer_and_one_request(fhir: Fhir) -> None:
    bundle = example("pdp-referral")
    first = await fhir.post(bundle)
    again = await fhir.post(json.dumps(bundle, indent=2).encode())  # other whitespace, same message
    assert first[0] == again[0] == 200
    for answer in (first[1], again[1]):
        answer.pop("timestamp")
    assert first[1] == again[1]
    async with fhir.hub.db.session() as session:
        count = (await session.execute(select(func.count()).select_from(Request).where(
            Request.source_key == f"fhir:{fhir.client.id}:{resource(bundle, 'MessageHeader')['id']}"))).scalar()
    assert count == 1


async def test_same_header_id_with_another_body_is_a_conflict(fhir: Fhir) -> None:
    bundle = example("pdp-referral", header_id="mh-conflict")
    assert (await fhir.post(bundle))[0] == 200
    changed = example("pdp-referral", header_id="mh-conflict")
    resource(changed, "ServiceRequest")["note"] = [{"text": "Autre texte"}]
    status, outcome = await fhir.post(changed)
    assert status == 409 and expressions(outcome) == ["MessageHeader.id"]


async def test_two_clients_may_use_the_same_header_id(fhir: Fhir) -> None:
    other = await add_client(fhir.hub, structure="DAC-44")
    other_token = await get_token(fhir.http, fhir.url, other)
    bundle = example("coordination-request", header_id="shared-id")
    _, a = await fhir.post(bundle)
    status, b = await post_message(fhir.http, fhir.url, other_token, bundle)
    assert status == 200 and task_of(a)["id"] != task_of(b)["id"]


def _drop(bundle: dict[str, Any], resource_type: str) -> None:
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != resource_type]


def _drop_stoppage(bundle: dict[str, Any]) -> None:
    _drop(bundle, "Observation")
    resource(bundle, "ServiceRequest").pop("supportingInfo")


Mutation = Callable[[dict[str, Any]], None]
PROFILE_CASES: list[tuple[str, str, Mutation, str]] = [
    ("unknown event", "pdp-referral",
     lambda b: resource(b, "MessageHeader")["eventCoding"].update(code="visite"), "MessageHeader.eventCoding"),
    ("header id missing", "pdp-referral", lambda b: resource(b, "MessageHeader").pop("id"), "MessageHeader.id"),
    ("focus elsewhere", "pdp-referral",
     lambda b: resource(b, "MessageHeader").update(focus=[{"reference": "urn:uuid:0badc0de-0000-4000-8000-0"}]),
     "MessageHeader.focus"),
    ("focus of the wrong type", "pdp-referral",
     lambda b: resource(b, "MessageHeader").update(focus=[{"reference": entry_of(b, "Patient")["fullUrl"]}]),
     "MessageHeader.focus"),
    ("dangling reference", "pre-return-visit-request",
     lambda b: resource(b, "Observation").update(subject={"reference": "Patient/absent"}), "Observation.subject"),
    ("bad SIRET key", "pdp-referral",
     lambda b: resource(b, "Organization")["identifier"][0].update(value="03821112200024"),
     "Organization.identifier[0]"),
    ("bad RPPS key", "pre-return-visit-request",
     lambda b: resource(b, "Practitioner")["identifier"][0].update(value="10000000075"), "Practitioner.identifier[0]"),
    ("practitioner without RPPS", "pre-return-visit-request",
     lambda b: resource(b, "Practitioner").pop("identifier"), "Practitioner.identifier"),
    ("bad INS key", "pdp-referral",
     lambda b: resource(b, "Patient")["identifier"][0].update(value="291112A01234526"), "Patient.identifier[0]"),
    ("worker without birth date", "pdp-referral", lambda b: resource(b, "Patient").pop("birthDate"),
     "Patient.birthDate"),
    ("no requester", "pre-return-visit-request", lambda b: resource(b, "ServiceRequest").pop("requester"),
     "ServiceRequest.requester"),
    ("pre-return without stoppage", "pre-return-visit-request", lambda b: _drop_stoppage(b),
     "ServiceRequest.supportingInfo"),
    ("stoppage not referenced", "pre-return-visit-request",
     lambda b: resource(b, "ServiceRequest").pop("supportingInfo"), "ServiceRequest.supportingInfo"),
    ("stoppage without start", "pre-return-visit-request",
     lambda b: resource(b, "Observation")["effectivePeriod"].pop("start"), "Observation.effectivePeriod.start"),
    ("stoppage without cause", "pre-return-visit-request",
     lambda b: resource(b, "Observation").pop("valueCodeableConcept"), "Observation.valueCodeableConcept"),
    ("unknown cause", "pre-return-visit-request",
     lambda b: resource(b, "Observation")["valueCodeableConcept"]["coding"][0].update(code="flu"),
     "Observation.valueCodeableConcept"),
    ("pdp without employer", "pdp-referral", lambda b: resource(b, "Patient").pop("contact"), "Patient.contact"),
    ("employer without SIRET", "pdp-referral", lambda b: resource(b, "Organization").pop("identifier"),
     "Organization.identifier"),
    ("consent for someone else", "pdp-referral",
     lambda b: resource(b, "Consent").update(patient={"reference": entry_of(b, "Organization")["fullUrl"]}),
     "Consent.patient"),
    ("coordination without text", "coordination-request", lambda b: resource(b, "Communication").pop("payload"),
     "Communication.payload"),
    ("reply without its Task", "reply", lambda b: resource(b, "Communication").pop("basedOn"), "Communication.basedOn"),
]


@pytest.mark.parametrize(("event", "mutate", "expression"), [c[1:] for c in PROFILE_CASES],
                         ids=[c[0] for c in PROFILE_CASES])
async def test_profile_rules(fhir: Fhir, event: str, mutate: Mutation, expression: str) -> None:
    bundle = example(event)
    mutate(bundle)
    status, outcome = await fhir.post(bundle)
    assert status == 422, outcome
    assert expression in expressions(outcome)
    async with fhir.hub.db.session() as session:
        assert (await session.execute(select(func.count()).select_from(Request))).scalar() == 0


LAW_CASES: list[tuple[str, str, Mutation, str, str]] = [
    ("employer may not request a pre-return visit", "pre-return-visit-request",
     lambda b: resource(b, "ServiceRequest").update(requester={"reference": entry_of(b, "Organization")["fullUrl"]}),
     "ServiceRequest.requester", "L4624-2-4"),
    ("stoppage of 30 days or less", "pre-return-visit-request",
     lambda b: resource(b, "Observation").update(effectivePeriod={
         "start": (clock.today() - timedelta(days=10)).isoformat(),
         "end": (clock.today() + timedelta(days=10)).isoformat()}), "Observation.effectivePeriod.end", "30 jours"),
    ("no consent from a GP's request", "pre-return-visit-request", lambda b: _drop(b, "Consent"),
     "Bundle.entry.resource.ofType(Consent)", "consentement"),
    ("consent dated in the future", "coordination-request",
     lambda b: resource(b, "Consent").update(dateTime=(clock.today() + timedelta(days=3)).isoformat()),
     "Consent.dateTime", "futur"),
]


@pytest.mark.parametrize(("event", "mutate", "expression", "french"), [c[1:] for c in LAW_CASES],
                         ids=[c[0] for c in LAW_CASES])
async def test_law(fhir: Fhir, event: str, mutate: Mutation, expression: str, french: str) -> None:
    bundle = example(event)
    mutate(bundle)
    status, outcome = await fhir.post(bundle)
    assert status == 422, outcome
    issue = next(i for i in outcome["issue"] if expression in i["expression"])
    assert issue["code"] == "business-rule" and french in issue["details"]["text"]


async def test_the_worker_may_refer_without_a_separate_consent(fhir: Fhir) -> None:
    bundle = example("pdp-referral")
    _drop(bundle, "Consent")
    assert (await fhir.post(bundle))[0] == 200


@pytest.mark.parametrize(("body", "expression"), [
    (b"{not json", "Bundle"),
    (b'{"resourceType": "Patient"}', "Bundle.resourceType"),
    (json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": []}).encode(), "Bundle.type"),
    (json.dumps({"resourceType": "Bundle", "type": "message", "entry": [
        {"resource": {"resourceType": "Patient", "birthDate": "14/03/1978"}}]}).encode(),
     "Bundle.entry[0].resource.birthDate"),
    (json.dumps({"resourceType": "Bundle", "type": "message", "entry": [
        {"resource": {"resourceType": "Unicorn"}}]}).encode(), "Bundle.entry.resource.resourceType"),
    (json.dumps({"resourceType": "Bundle", "type": "message", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p"}}]}).encode(), "Bundle.entry[0].resource"),
    (b"[" * 100000 + b"]" * 100000, "Bundle"),
    (json.dumps(example("pre-return-visit-request")).replace("Dubois", "Du\\u0000bois").encode(), "Bundle"),
])
async def test_malformed_bodies_are_400(fhir: Fhir, body: bytes, expression: str) -> None:
    status, outcome = await fhir.post(body)
    assert status == 400
    assert expression in expressions(outcome)


async def test_wrong_media_type_is_415_and_too_large_is_413(fhir: Fhir) -> None:
    bundle = json.dumps(example("pdp-referral")).encode()
    status, outcome = await fhir.post(bundle, content_type="application/xml")
    assert status == 415 and "application/fhir+json" in outcome["issue"][0]["diagnostics"]
    assert (await fhir.post(bundle, content_type="application/json"))[0] == 200
    big = example("coordination-request")
    resource(big, "Communication")["payload"][0]["contentString"] = "x" * (10 * 1024 * 1024)
    status, outcome = await fhir.post(big)
    assert status == 413 and outcome["issue"][0]["code"] == "too-long"


async def test_reply_joins_the_thread_of_the_clients_own_task_only(fhir: Fhir) -> None:
    _, answer = await fhir.post(example("coordination-request"))
    task_id = task_of(answer)["id"]
    reply = example("reply")
    resource(reply, "Communication")["basedOn"] = [{"reference": f"Task/{task_id}"}]
    status, answer = await fhir.post(reply)
    assert status == 200 and task_of(answer)["id"] == task_id
    assert resource(answer, "MessageHeader")["response"]["identifier"] == resource(reply, "MessageHeader")["id"]
    assert (await fhir.post(reply))[0] == 200  # re-sent: still one message
    async with fhir.hub.db.session() as session:
        request = await session.get(Request, task_id)
        assert request is not None
        kinds = (await session.execute(select(Message.kind).where(Message.thread_id == request.thread_id)
                                       .order_by(Message.created_at))).scalars().all()
    assert kinds == ["request", "reply"]
    stranger = await add_client(fhir.hub, structure="DAC-44")
    token = await get_token(fhir.http, fhir.url, stranger)
    intruder = example("reply")
    resource(intruder, "Communication")["basedOn"] = [{"reference": f"Task/{task_id}"}]
    status, outcome = await post_message(fhir.http, fhir.url, token, intruder)
    assert status == 422 and expressions(outcome) == ["Communication.basedOn"]


async def test_a_message_accepted_earlier_keeps_its_answer_when_the_law_would_now_refuse_it(directory_hub: Hub
                                                                                           ) -> None:
    from connectors.fhir_api.messaging import process_message
    from connectors.fhir_api.outcome import FhirError
    from hub.audit import Actor
    from hub.smart import AccessGrant

    client = await add_client(directory_hub)
    grant = AccessGrant(client.id, "Logiciel CPTS", "CPTS-NANTES-NORD", ())
    raw = json.dumps(example("pre-return-visit-request")).encode()
    first = await process_message(directory_hub, grant, raw, Actor("t"), clock.today())
    two_months_later = clock.today() + timedelta(days=60)  # the arrêt is over by then
    again = await process_message(directory_hub, grant, raw, Actor("t"), two_months_later)
    assert task_of(again)["id"] == task_of(first)["id"]
    with pytest.raises(FhirError) as refused:
        await process_message(directory_hub, grant, json.dumps(example("pre-return-visit-request")).encode(),
                              Actor("t"), two_months_later)
    assert refused.value.status == 422


async def test_identifiers_written_with_separators_are_stored_normalised(fhir: Fhir) -> None:
    bundle = example("pre-return-visit-request")
    resource(bundle, "Practitioner")["identifier"][0]["value"] = "100 000-000.74"
    resource(bundle, "Organization")["identifier"][0]["value"] = "044 230 651.00018"
    status, answer = await fhir.post(bundle)
    assert status == 200, answer
    async with fhir.hub.db.session() as session:
        request = await session.get(Request, task_of(answer)["id"])
    assert request is not None
    assert (request.requester_rpps, request.employer_siret) == ("10000000074", "04423065100018")
    assert not request.in_triage
