"""Reading Tasks and Communications: a client sees its own requests and the replies, nothing of anyone else's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhirpy import AsyncFHIRClient
from sqlalchemy import select

from hub.core import Hub
from hub.store.models import AuditEvent, Message, Request, new_id, utcnow
from tests.fhir_support import (  # noqa: F401 - directory_hub_fixture is a fixture
    Client,
    add_client,
    directory_hub_fixture,
    example,
    get_token,
    post_message,
    resource,
)


@dataclass
class Caller:
    client: Client
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Two:
    url: str
    http: aiohttp.ClientSession
    hub: Hub
    a: Caller
    b: Caller

    async def get(self, caller: Caller, path: str) -> tuple[int, dict[str, Any]]:
        async with self.http.get(self.url + path, headers=caller.headers) as r:
            assert r.content_type == "application/fhir+json"
            return r.status, await r.json(content_type=None)

    async def send(self, caller: Caller, event: str) -> str:
        status, answer = await post_message(self.http, self.url, caller.token, example(event))
        assert status == 200, answer
        return str(resource(answer, "Task")["id"])


@pytest.fixture
async def two(directory_hub: Hub, start_server: Any) -> AsyncIterator[Two]:
    srv = await start_server(directory_hub)
    async with aiohttp.ClientSession() as http:
        callers = []
        for structure in ("CPTS-NANTES-NORD", "DAC-44"):
            client = await add_client(directory_hub, structure=structure)
            callers.append(Caller(client, await get_token(http, srv.url, client)))
        yield Two(srv.url, http, directory_hub, callers[0], callers[1])


async def physician_reply(hub: Hub, task_id: str, text: str) -> str:
    """What the inbox stores when a physician answers: an outbound message of the thread, encrypted."""
    async with hub.db.session() as session, session.begin():
        request = await session.get(Request, task_id)
        assert request is not None
        key, message_id = hub.sealer.new_key(session), new_id()
        session.add(Message(id=message_id, thread_id=request.thread_id, request_id=task_id, direction="out",
                            kind="reply", channel="web", author_label="Dr Anne Le Goff", data_key_id=key.id,
                            body_enc=hub.sealer.seal(key, "messages", message_id, "body", text),
                            created_at=utcnow() + timedelta(seconds=1)))
        request.status = "in-progress"
        request.updated_at = utcnow()
    return message_id


async def test_a_client_reads_its_tasks_and_nothing_of_another(two: Two) -> None:
    mine, theirs = await two.send(two.a, "pdp-referral"), await two.send(two.b, "coordination-request")
    status, task = await two.get(two.a, f"/fhir/Task/{mine}")
    assert status == 200 and task["id"] == mine and task["status"] == "requested"
    assert task["identifier"][0]["value"].startswith("GU-")
    status, outcome = await two.get(two.a, f"/fhir/Task/{theirs}")
    assert status == 404 and outcome["resourceType"] == "OperationOutcome"
    for caller, own, other in ((two.a, mine, theirs), (two.b, theirs, mine)):
        _, found = await two.get(caller, "/fhir/Task")
        ids = [e["resource"]["id"] for e in found["entry"]]
        assert ids == [own] and other not in ids
        _, comms = await two.get(caller, f"/fhir/Communication?based-on=Task/{other}")
        assert comms["total"] == 0
    assert (await two.get(two.a, "/fhir/Task/unknown-id"))[0] == 404
    assert (await two.get(two.a, "/fhir/Task/%00%27;drop"))[0] == 404


async def test_search_by_status_and_last_update(two: Two) -> None:
    first, second = await two.send(two.a, "pdp-referral"), await two.send(two.a, "pre-return-visit-request")
    await physician_reply(two.hub, second, "Rendez-vous proposé le 3 décembre à 9 h.")
    _, found = await two.get(two.a, "/fhir/Task?status=in-progress")
    assert [e["resource"]["id"] for e in found["entry"]] == [second]
    _, found = await two.get(two.a, "/fhir/Task?status=requested,in-progress&_count=1")
    assert len(found["entry"]) == 1
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (await two.get(two.a, f"/fhir/Task?_lastUpdated=gt{future}"))[1]["total"] == 0
    _, found = await two.get(two.a, f"/fhir/Task?_lastUpdated=gt{past}")
    assert {e["resource"]["id"] for e in found["entry"]} == {first, second}
    Bundle.model_validate(found)
    for bad in ("status=finished", "_lastUpdated=gtyesterday", "_count=0", "_lastUpdated=gt0001-01-01T00:00:00%2B05:00",
                "_lastUpdated=lt9999-12-31T23:59:59-05:00"):
        status, outcome = await two.get(two.a, f"/fhir/Task?{bad}")
        assert status == 400 and outcome["issue"][0]["expression"] == [bad.split("=")[0]]


async def test_communications_are_the_replies_and_the_clients_own_messages_decrypted(two: Two) -> None:
    task_id = await two.send(two.a, "coordination-request")
    reply_id = await physician_reply(two.hub, task_id, "Je reçois le salarié jeudi ; merci pour le signalement.")
    status, found = await two.get(two.a, f"/fhir/Communication?based-on=Task/{task_id}")
    assert status == 200
    comms = [e["resource"] for e in found["entry"]]
    assert comms[0]["payload"][0]["contentString"].startswith("Situation complexe")
    assert comms[-1]["id"] == reply_id and comms[-1]["sender"]["display"] == "Dr Anne Le Goff"
    assert comms[-1]["payload"][0]["contentString"] == "Je reçois le salarié jeudi ; merci pour le signalement."
    assert all(c["basedOn"] == [{"reference": f"Task/{task_id}"}] for c in comms)
    Bundle.model_validate(found)
    async with two.hub.db.session() as session:
        reads = (await session.execute(select(AuditEvent.entity_type, AuditEvent.entity_id).where(
            AuditEvent.action == "read", AuditEvent.actor == f"api:{two.a.client.id}"))).all()
    assert ("Communication", reply_id) in reads
    status, outcome = await two.get(two.a, "/fhir/Communication")
    assert status == 400 and outcome["issue"][0]["expression"] == ["based-on"]


async def test_every_task_read_is_audited(two: Two) -> None:
    task_id = await two.send(two.a, "pdp-referral")
    await two.get(two.a, f"/fhir/Task/{task_id}")
    await two.get(two.a, "/fhir/Task")
    async with two.hub.db.session() as session:
        reads = (await session.execute(select(AuditEvent.entity_id, AuditEvent.source).where(
            AuditEvent.action == "read", AuditEvent.entity_type == "Task"))).all()
    assert [r[0] for r in reads] == [task_id, task_id] and reads[0][1] == "127.0.0.1"


async def test_fhirpy_reads_tasks_from_the_running_service(demo_hub: Hub, start_server: Any) -> None:
    srv = await start_server(demo_hub)
    client = await add_client(demo_hub)
    async with aiohttp.ClientSession() as http:
        token = await get_token(http, srv.url, client)
        status, answer = await post_message(http, srv.url, token, example("pre-return-visit-request"))
        assert status == 200
    task_id = resource(answer, "Task")["id"]
    fhir = AsyncFHIRClient(srv.url + "/fhir", authorization=f"Bearer {token}")
    tasks = await fhir.resources("Task").search(status="requested").fetch()
    assert [t["id"] for t in tasks] == [task_id]  # the demo's other requests are not this client's
    task = await fhir.reference("Task", task_id).to_resource()
    assert task["status"] == "requested" and task["code"]["coding"][0]["code"] == "pre-return-visit-request"
    comms = await fhir.resources("Communication").search(based_on=f"Task/{task_id}").fetch()
    assert len(comms) == 1  # the client's own request text, no reply yet
    assert comms[0]["payload"][0]["contentString"].startswith("Lombalgie chronique")


async def test_capability_statement_and_openapi(two: Two) -> None:
    async with two.http.get(two.url + "/fhir/metadata") as r:
        assert r.status == 200 and r.content_type == "application/fhir+json"
        statement = CapabilityStatement.model_validate(await r.json(content_type=None))
    assert statement.fhirVersion == "4.0.1"
    assert statement.rest is not None
    assert {res.type for res in statement.rest[0].resource or []} == {"Task", "Communication", "Consent"}
    async with two.http.get(two.url + "/openapi.json") as r:
        doc = await r.json()
    assert doc["servers"] == [{"url": two.url}]
    assert {"/oauth/token", "/fhir/$process-message", "/fhir/Task/{id}", "/fhir/Task",
            "/fhir/Communication", "/fhir/metadata"} <= set(doc["paths"])


async def test_refused_reads_are_audited(two: Two) -> None:
    theirs = await two.send(two.b, "coordination-request")
    assert (await two.get(two.a, f"/fhir/Task/{theirs}"))[0] == 404
    assert (await two.get(two.a, f"/fhir/Communication?based-on=Task/{theirs}"))[0] == 200
    forged = Caller(two.a.client, "not-a-token")
    assert (await two.get(forged, f"/fhir/Task/{theirs}"))[0] == 401
    async with two.hub.db.session() as session:
        denied = (await session.execute(select(AuditEvent).where(AuditEvent.outcome == "denied")
                                        .order_by(AuditEvent.id))).scalars().all()
    assert [(d.entity_type, d.entity_id) for d in denied] == [("Task", theirs), ("Communication", theirs),
                                                               ("Task", theirs)]
    assert denied[0].actor == f"api:{two.a.client.id}" and denied[2].actor == "api:refused"
    assert all(d.source == "127.0.0.1" for d in denied)
