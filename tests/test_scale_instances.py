"""Three ``guichet serve`` processes (every role) on one PostgreSQL schema, fed mail, FHIR messages and forms at
once; and an instance killed while it holds outbox rows. DESIGN "Scale": nothing lost, nothing doubled, the audit
chain intact, rate limits and access tokens valid across instances. Traffic stays on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
import pytest
from sqlalchemy import func, select

from connectors.smtp.sink import Sink
from hub.audit import verify_chain
from hub.outbox import OutboundEmail
from hub.store.models import OutboxItem, Request
from tests.conftest import backend
from tests.fhir_support import add_client, assertion, example, get_token, post_message, resource, token_form
from tests.forms_helpers import client as client_session
from tests.forms_helpers import pdp_worker, submit
from tests.instances import ADDRESS, BlackHole, Cluster
from tests.test_smtp_crash import message

pytestmark = pytest.mark.skipif(backend() != "postgresql", reason="several instances share one PostgreSQL")
PER_INSTANCE = 8
TUNING = {"token_burst": 5, "token_rate": 0.001, "forms_submissions_per_hour": 500, "forms_posts_per_hour": 500,
          "forms_searches_per_hour": 4, "outbox_lease_seconds": 2, "poll_seconds": 0.5,
          "listen_poll_seconds": 1}


async def outbox_state(cluster: Cluster) -> dict[str, int]:
    hub = cluster.hub()
    try:
        async with hub.db.session() as session:
            rows = (await session.execute(select(OutboxItem.status, func.count()).group_by(OutboxItem.status))).all()
        return {str(status): int(n) for status, n in rows}
    finally:
        await hub.db.dispose()


async def drained(cluster: Cluster, timeout: float = 90) -> dict[str, int]:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        state = await outbox_state(cluster)
        if not state.get("pending"):
            return state
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"outbox not drained: {state}")
        await asyncio.sleep(0.3)


async def send_mail(port: int, first: int, count: int) -> list[str]:
    acked = []
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30)
    await smtp.connect()
    for i in range(first, first + count):
        msg, key = message(i)
        msg.replace_header("To", ADDRESS)
        await smtp.send_message(msg, recipients=[ADDRESS])
        acked.append(key)
    await smtp.quit()
    return acked


async def test_three_instances_share_the_work_without_loss_or_double(tmp_path: Path,
                                                                    database: tuple[str, str | None]) -> None:
    url, schema = database
    sink = Sink()
    await sink.start()
    cluster = await Cluster.create(tmp_path, url, schema, TUNING)
    setup = cluster.hub()
    client = await add_client(setup)
    await setup.db.dispose()
    try:
        nodes = [await cluster.start(n, relay=f"127.0.0.1:{sink.port}") for n in ("a", "b", "c")]
        async with aiohttp.ClientSession() as http:
            token = await get_token(http, nodes[0].url, client)  # issued by a, used on a, b and c

            async def fhir(node_index: int, i: int) -> str:
                bundle = example(("pre-return-visit-request", "pdp-referral", "coordination-request")[i % 3])
                status, answer = await post_message(http, nodes[node_index].url, token, bundle)
                assert status == 200, answer
                return str(resource(answer, "Task")["id"])

            async def form(node_index: int, i: int) -> int:
                async with client_session() as browser:  # one browser (cookie jar) per person
                    status, _, html = await submit(browser, nodes[node_index].url + "/saisine-pdp",
                                                   pdp_worker(job=f"Poste {i}"))
                assert status == 200, html[:500]
                return status

            jobs: list[Any] = []
            for n, node in enumerate(nodes):
                jobs += [fhir(n, n * 100 + i) for i in range(PER_INSTANCE)]
                jobs += [form(n, n * 100 + i) for i in range(PER_INSTANCE // 2)]
                jobs.append(send_mail(node.smtp_port, n * 1000, PER_INSTANCE))
            results = await asyncio.gather(*jobs)
            task_ids = {r for r in results if isinstance(r, str)}
            mail_keys = {k for r in results if isinstance(r, list) for k in r}

            # rate limits are counted across instances: the token bucket (burst 5, one already spent) ...
            statuses = []
            for i in range(6):
                target = nodes[i % 3].url + "/oauth/token"
                async with http.post(target, data=token_form(assertion(client, target))) as r:
                    statuses.append(r.status)
            assert sorted(statuses) == [200] * 4 + [429] * 2, statuses
            # ... and the forms' employer search (4 an hour for one address), two on each instance
            search = []
            for i in range(6):
                async with http.get(nodes[i % 3].url + "/saisine-pdp/employeurs?nom=boulangerie") as r:
                    search.append(r.status)
            assert search == [200] * 4 + [429] * 2, search

        state = await drained(cluster)
        assert state.get("dead", 0) == 0 and state["sent"] > 0
        ids = [m.message["Message-ID"] for m in sink.messages]
        assert len(ids) == len(set(ids)) == state["sent"]  # every outgoing email sent exactly once
    finally:
        await cluster.stop_all()
        await sink.stop()

    hub = cluster.hub()
    try:
        async with hub.db.session() as session:
            keys = list((await session.execute(select(Request.source_key))).scalars())
            stored_tasks = set((await session.execute(
                select(Request.id).where(Request.source_key.like("fhir:%")))).scalars())
        assert len(keys) == len(set(keys)) == len(nodes) * (2 * PER_INSTANCE + PER_INSTANCE // 2)
        assert stored_tasks == task_ids and mail_keys <= set(keys)
        assert sum(1 for k in keys if k.startswith("form:")) == len(nodes) * (PER_INSTANCE // 2)
        checked, broken = await verify_chain(hub.db)
        assert broken is None and checked > len(keys)
    finally:
        await hub.close()
    logs = "".join(cluster.log(n) for n in ("a", "b", "c"))
    assert "Traceback" not in logs, logs[-3000:]


async def test_an_instance_killed_while_delivering_loses_its_claims_within_seconds(
        tmp_path: Path, database: tuple[str, str | None]) -> None:
    url, schema = database
    hole, sink = BlackHole(), Sink()
    hole_port = await hole.start()
    await sink.start()
    cluster = await Cluster.create(tmp_path, url, schema, TUNING, directory=False)
    hub = cluster.hub()
    try:
        async with hub.db.session() as session, session.begin():
            for i in range(5):
                hub.outbox.enqueue_email(session, "notify", OutboundEmail(
                    to=["dr.martin@spsti-scale.fr"], subject=f"Un message vous attend ({i})",
                    text="Connectez-vous au guichet.", from_addr=ADDRESS,
                    headers={"Message-ID": f"<kill-{i}-{uuid.uuid4().hex}@spsti-scale.fr>"}))

        async def holders() -> set[str | None]:
            async with hub.db.session() as session:
                return set((await session.execute(select(OutboxItem.claimed_by))).scalars())

        await cluster.start("a", roles="worker", relay=f"127.0.0.1:{hole_port}", ready=False)
        for _ in range(200):
            if None not in await holders() and hole.connections:
                break
            await asyncio.sleep(0.1)
        [holder] = await holders()  # a holds all five, stuck on a relay that never answers
        assert holder is not None and hole.connections == 1
        await cluster.start("b", roles="worker", relay=f"127.0.0.1:{sink.port}", ready=False)
        await asyncio.sleep(5)  # more than two leases: a's heartbeat keeps them, b delivers nothing
        assert sink.messages == [] and await holders() == {holder}
        cluster.kill("a")
        killed_at = asyncio.get_running_loop().time()
        await sink.wait_for(5, timeout=20)
        took = asyncio.get_running_loop().time() - killed_at
        await asyncio.sleep(1.5)  # nothing more arrives
        ids = [m.message["Message-ID"] for m in sink.messages]
        assert len(ids) == len(set(ids)) == 5
        assert took < 2 + 1 + 5  # a lease, a poll, and slack for a loaded machine
        async with hub.db.session() as session:
            rows = (await session.execute(select(OutboxItem))).scalars().all()
        assert {(r.status, r.claimed_by) for r in rows} == {("sent", None)}
        assert {r.attempts for r in rows} == {2}  # one attempt by a (never finished), one by b
    finally:
        await cluster.stop_all()
        await hole.stop()
        await sink.stop()
        await hub.close()
    print(json.dumps({"takeover_seconds": round(took, 2)}))
