"""The fault campaign (docs/operations.md): each test breaks one thing under load, bounded in time, on 127.0.0.1,
and checks that nothing acknowledged is lost or doubled and that the service recovers by itself."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
import pytest
from sqlalchemy import func, select, text

from connectors.smtp.sink import Sink
from hub.config import Settings
from hub.core import Hub
from hub.crypto.keystore import KeyStore
from hub.demo import EXAMPLE_DIRECTORY
from hub.directory.importer import import_directory
from hub.outbox import OutboundEmail
from hub.store.migrate import upgrade
from hub.store.models import OutboxItem, Request
from tests.conftest import RunningServer, backend, wait_until
from tests.fhir_support import add_client, example, get_token, post_message, resource
from tests.instances import ADDRESS, Cluster, PrivatePostgres, free_port, wait_http
from tests.test_smtp_crash import message

pg_only = pytest.mark.skipif(backend() != "postgresql", reason="several instances share one PostgreSQL")
EVENTS = ("pre-return-visit-request", "pdp-referral", "coordination-request")


def bundles(count: int) -> list[bytes]:
    return [json.dumps(example(EVENTS[i % 3], header_id=uuid.uuid4().hex)).encode() for i in range(count)]


async def post_raw(http: aiohttp.ClientSession, base: str, token: str, body: bytes) -> tuple[int, str | None]:
    """(status, Task id) — status 0 when no answer came (connection refused or cut)."""
    try:
        status, answer = await post_message(http, base, token, body)
    except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError):
        return 0, None
    return status, (str(resource(answer, "Task")["id"]) if status == 200 else None)


async def stored_fhir(hub: Hub) -> list[str]:
    async with hub.db.session() as session:
        return list((await session.execute(select(Request.id).where(Request.source_key.like("fhir:%")))).scalars())


@pg_only
async def test_sigkill_of_an_api_instance_under_load(tmp_path: Path, database: tuple[str, str | None]) -> None:
    url, schema = database
    cluster = await Cluster.create(tmp_path, url, schema, {"api_rate": 1000, "api_burst": 2000})
    setup = cluster.hub()
    client = await add_client(setup)
    await setup.db.dispose()
    payloads = bundles(80)
    answers: dict[int, list[tuple[str, str | None]]] = {i: [] for i in range(len(payloads))}
    lost_answers = 0
    try:
        a = await cluster.start("a", roles="api")
        b = await cluster.start("b", roles="api")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            token = await get_token(http, a.url, client)
            todo = list(range(len(payloads)))
            enough = asyncio.Event()

            async def sender() -> None:
                nonlocal lost_answers
                while todo:
                    i = todo.pop(0)
                    for base in (a.url, b.url, b.url, b.url):  # a first; what got no answer goes again to b
                        status, task = await post_raw(http, base, token, payloads[i])
                        answers[i].append((base, task))
                        if status == 200:
                            break
                        lost_answers += 1
                        await asyncio.sleep(0.1)
                    if sum(1 for x in answers.values() if x and x[-1][1]) >= 20:
                        enough.set()

            async def killer() -> None:
                await enough.wait()
                cluster.kill("a")

            await asyncio.wait_for(asyncio.gather(killer(), *(sender() for _ in range(8))), timeout=180)
            assert lost_answers > 0  # the kill did cut clients off
            # every message sent again, to the survivor: the same Task each time (idempotency across instances)
            for i, body in enumerate(payloads):
                status, task = await post_raw(http, b.url, token, body)
                assert status == 200
                answers[i].append((b.url, task))
    finally:
        await cluster.stop_all()
    hub = cluster.hub()
    try:
        stored = await stored_fhir(hub)
    finally:
        await hub.close()
    for i, got in answers.items():
        tasks = {task for _, task in got if task}
        assert len(tasks) == 1, (i, got)  # every 200 for one message names the same Task
    assert sorted(stored) == sorted(next(t for _, t in got if t) for got in answers.values())


async def test_relay_down_then_back(hub: Hub, start_server: Callable[..., Any]) -> None:
    port = free_port()
    hub.settings = hub.settings.with_(smtp_relay=f"127.0.0.1:{port}")
    async with hub.db.session() as session, session.begin():
        hub.outbox.enqueue_email(session, "notify", OutboundEmail(
            to=["dr.martin@spsti-test.fr"], subject="Un message vous attend", text="Connectez-vous.",
            from_addr="guichet@spsti-test.fr", headers={"Message-ID": "<relay-down@spsti-test.fr>"}))
    await start_server(hub, roles=("worker",))

    async def row() -> OutboxItem:
        async with hub.db.session() as session:
            return (await session.execute(select(OutboxItem))).scalar_one()

    async def failed_once() -> bool:
        r = await row()
        return r.attempts == 1 and r.claimed_by is None and r.last_error is not None

    await wait_until(failed_once)
    first = await row()
    assert first.status == "pending" and "unreachable" in (first.last_error or "")
    wait = (first.next_attempt_at - first.created_at).total_seconds()
    assert 4 < wait < 10  # exponential backoff: 5 s after the first failure
    sink = Sink()
    await sink.start(port=port)  # the relay comes back
    try:
        await sink.wait_for(1, timeout=15)
        await asyncio.sleep(1.0)
        assert [m.message["Message-ID"] for m in sink.messages] == ["<relay-down@spsti-test.fr>"]
        done = await row()
        assert (done.status, done.attempts, done.last_error) == ("sent", 2, None)
    finally:
        await sink.stop()


@pytest.mark.skipif(backend() != "sqlite", reason="the disk of a SQLite data dir")
async def test_disk_full_under_sqlite_refuses_then_recovers(tmp_path: Path, settings_factory: Callable[..., Settings],
                                                           start_server: Callable[..., Any]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    mounted = await asyncio.to_thread(subprocess.run, ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(data)],
                                      capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    hub: Hub | None = None
    try:
        settings = settings_factory(database_url=f"sqlite+aiosqlite:///{data / 'guichet.db'}")
        KeyStore(settings.keys_dir).initialise()
        hub = Hub.open(settings)
        await upgrade(hub.db)
        await import_directory(hub, EXAMPLE_DIRECTORY, progress=False)
        client = await add_client(hub)
        server: RunningServer = await start_server(hub, roles=("api",))
        payloads = bundles(12)
        async with aiohttp.ClientSession() as http:
            token = await get_token(http, server.url, client)
            accepted = {}
            for i in range(4):
                status, task = await post_raw(http, server.url, token, payloads[i])
                assert status == 200
                accepted[i] = task
            filler = data / "filler"
            with filler.open("wb", buffering=0) as fh:  # fill the disk to the last block (unbuffered: closing
                try:  # it has nothing left to flush on a full disk)
                    while True:
                        fh.write(b"\0" * 65536)
                        fh.flush()
                except OSError:
                    pass
            refused = []
            for i in range(4, 12):
                status, task = await post_raw(http, server.url, token, payloads[i])
                assert status != 200 or task is not None
                if status == 200:
                    accepted[i] = task
                else:
                    refused.append((i, status))
            assert refused and {s for _, s in refused} == {503}, refused  # refusals, said plainly
            filler.unlink()  # space is freed: the same messages go through, each once
            for i, _ in refused:
                status, task = await post_raw(http, server.url, token, payloads[i])
                assert status == 200
                accepted[i] = task
        async with hub.db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA integrity_check"))).scalar() == "ok"
        assert sorted(await stored_fhir(hub)) == sorted(accepted.values())
    finally:
        if hub is not None:
            await hub.close()
        await asyncio.to_thread(subprocess.run, ["umount", "-l", str(data)], capture_output=True)


@pg_only
async def test_postgresql_restart_under_load(tmp_path: Path) -> None:
    try:
        pg = PrivatePostgres()
        await asyncio.to_thread(pg.init)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"no private PostgreSQL cluster: {exc}")
    try:
        cluster = await Cluster.create(tmp_path, pg.url, None, {"api_rate": 1000, "api_burst": 2000})
        setup = cluster.hub()
        client = await add_client(setup)
        await setup.db.dispose()
        node = await cluster.start("a", roles="api,smtp")
        payloads = bundles(60)
        fhir_ok: dict[int, str] = {}
        mail_ok: set[str] = set()
        seen: dict[str, int] = {"503": 0, "451": 0, "ready503": 0}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
            token = await get_token(http, node.url, client)
            todo, mails = list(range(len(payloads))), list(range(30))
            enough, back = asyncio.Event(), asyncio.Event()

            async def fhir_client() -> None:
                while todo:
                    i = todo.pop(0)
                    while True:  # an integrator's client: resend the same message until it is acknowledged
                        status, task = await post_raw(http, node.url, token, payloads[i])
                        if status == 200 and task:
                            fhir_ok[i] = task
                            break
                        assert status in (0, 503), status
                        seen["503"] += status == 503
                        await asyncio.sleep(0.2)
                    if len(fhir_ok) >= 10:
                        enough.set()
                    if enough.is_set() and not back.is_set():
                        await asyncio.sleep(0.2)

            async def mail_client() -> None:
                while mails:
                    i = mails.pop(0)
                    msg, key = message(i)
                    msg.replace_header("To", ADDRESS)
                    while True:  # an MTA: 4xx means try again later
                        try:
                            await aiosmtplib.send(msg, hostname="127.0.0.1", port=node.smtp_port,
                                                  recipients=[ADDRESS], start_tls=False, timeout=20)
                            mail_ok.add(key)
                            break
                        except aiosmtplib.SMTPResponseException as exc:
                            assert exc.code == 451, exc
                            seen["451"] += 1
                        except (aiosmtplib.SMTPException, OSError):
                            pass
                        await asyncio.sleep(0.2)

            async def restart() -> None:
                await enough.wait()
                await asyncio.to_thread(pg.stop)
                for _ in range(30):  # while it is down, /readyz says so
                    async with http.get(node.url + "/readyz") as r:
                        if r.status == 503:
                            seen["ready503"] += 1
                    await asyncio.sleep(0.1)
                await asyncio.to_thread(pg.start)
                back.set()

            await asyncio.wait_for(asyncio.gather(restart(), mail_client(), mail_client(),
                                                  *(fhir_client() for _ in range(4))), timeout=240)
            await wait_http(node.url + "/readyz", patience=30)  # recovered by itself
        assert seen["503"] > 0 and seen["451"] > 0 and seen["ready503"] > 0, seen
    finally:
        if "cluster" in locals():
            await cluster.stop_all()
    try:
        hub = cluster.hub()
        async with hub.db.session() as session:
            keys = list((await session.execute(select(Request.source_key))).scalars())
            count = (await session.execute(select(func.count()).select_from(Request))).scalar_one()
        await hub.close()
        assert count == len(keys) == len(set(keys)) == len(payloads) + 30
        assert mail_ok <= set(keys)
        assert sorted(await _ids(cluster)) == sorted(fhir_ok.values())
    finally:
        pg.destroy()
        os.environ.pop("PGPORT", None)


async def _ids(cluster: Cluster) -> list[str]:
    hub = cluster.hub()
    try:
        return await stored_fhir(hub)
    finally:
        await hub.db.dispose()
