"""Benchmark: the consent gate (``hub.consent.gate.check_transfer``), the check every outgoing path pays.

Each timed call is one transaction: find the request's keyed worker identity, read and decrypt the current
decision of one purpose. Baseline in the same run, on the same database: the same transaction reading the request
row only (``session.get``), which every outgoing path does anyway. A second run gives each worker a history of
50 decisions (the gate reads only the last one). Third: the outbox worker delivering rows to a transport that does
nothing, per row — rows that carry clinical content (``consent_purpose``: the gate again at departure,
``hub.consent.outbound``) against the same rows without it (acknowledgements, notifications: no check).
Usage: .venv/bin/python bench/consent_bench.py [--requests 300] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hub.audit import Actor
from hub.config import load_settings
from hub.consent import registry
from hub.consent.gate import check_transfer
from hub.core import Hub
from hub.crypto.keystore import KeyStore
from hub.demo import EXAMPLE_DIRECTORY
from hub.directory.importer import import_directory
from hub.intake import ConsentStatement, EmployerRef, Person, RequestDraft, Requester, WorkStoppage
from hub.outbox import ConsentTag, OutboundEmail, OutboxWorker
from hub.store.migrate import upgrade
from hub.store.models import Request

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import scratch_database  # noqa: E402

ACTOR = Actor("bench", "bench")


def draft(i: int) -> RequestDraft:
    today = date.today()
    return RequestDraft(
        event="coordination-request", channel="email", source_key=f"bench:{i}",
        requester=Requester(kind="gp", name="Dr Bench", rpps="10000000074", email="gp@example.fr"),
        subject="Coordination", reason="Texte libre de la demande. " * 20,
        worker=Person(family_name=f"Nom{i}", given_names="Prénom", birth_date=date(1980, 1, 1)),
        employer=EmployerRef(siret="04423065100018"),
        stoppage=WorkStoppage(start=today - timedelta(days=40), cause="illness"),
        consent=ConsentStatement(decision="permit", given_on=today, channel="email", declared_by="third-party"))


async def timed(hub: Hub, ids: list[str], gate: bool) -> float:
    started = time.perf_counter()
    for task_id in ids:
        async with hub.db.session() as session, session.begin():
            request = await session.get(Request, task_id)
            assert request is not None
            if gate:
                assert await check_transfer(hub, session, request, "exchange-gp", ACTOR, "bench") is None
    return (time.perf_counter() - started) * 1000 / len(ids)


class Sink:
    async def deliver(self, payload: dict[str, Any]) -> None:
        return None


async def drain(hub: Hub) -> int:
    worker, done = OutboxWorker(hub.db, hub.outbox, {"email": Sink()}, batch=50), 0
    while count := await worker.run_once():
        done += count
    return done


async def outbox_ms(hub: Hub, ids: list[str], tagged: bool) -> float:
    async with hub.db.session() as session, session.begin():
        for task_id in ids:
            hub.outbox.enqueue_email(session, "reply", OutboundEmail(
                to=["gp@example.fr"], subject="[GU] Réponse", text="Texte de la réponse. " * 30,
                from_addr="guichet@example.fr"), consent=ConsentTag("exchange-gp", task_id) if tagged else None)
    started = time.perf_counter()
    assert await drain(hub) == len(ids)
    return (time.perf_counter() - started) * 1000 / len(ids)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        async with scratch_database(args.database_url, base) as (url, schema):
            settings = load_settings({"GUICHET_HOME": str(base), "GUICHET_DATABASE_URL": url,
                                      "GUICHET_CONFIG": str(base / "none.toml")}).with_(database_schema=schema)
            KeyStore(settings.keys_dir).initialise()
            hub = Hub.open(settings)
            await upgrade(hub.db)
            await import_directory(hub, EXAMPLE_DIRECTORY)
            ids = [(await hub.intake.submit(draft(i), ACTOR)).request_id for i in range(args.requests)]
            await hub.audit.flush()
            await timed(hub, ids[:20], True)  # warm up
            baseline, gate = await timed(hub, ids, False), await timed(hub, ids, True)
            async with hub.db.session() as session, session.begin():  # 50 decisions each for the first 50 workers
                for task_id in ids[:50]:
                    request = await session.get(Request, task_id)
                    assert request is not None
                    key = await registry.subject_key(hub, session, request)
                    for n in range(49):
                        await registry.record(hub, session, worker_key=key, purpose="exchange-gp",
                                              decision="consent" if n % 2 == 0 else "withdrawn", channel="form",
                                              author="bench", actor=ACTOR)
            await hub.audit.flush()  # chain the 2,450 audit entries first: not part of what is measured
            long_history = await timed(hub, ids[:50], True)
            await drain(hub)  # the acknowledgements and notifications of the intake
            await outbox_ms(hub, ids[:20], True)  # warm up
            plain_row, checked_row = await outbox_ms(hub, ids[50:], False), await outbox_ms(hub, ids[50:], True)
            await hub.close()
    print(f"database: {url.split(':', 1)[0]}; {args.requests} requests; load average {os.getloadavg()[0]:.1f}")
    print(f"baseline: transaction reading the request row     {baseline:6.3f} ms/call")
    print(f"gate:     same transaction + check_transfer       {gate:6.3f} ms/call  -> ratio {gate / baseline:.2f}")
    print(f"gate, workers with 50 decisions each              {long_history:6.3f} ms/call  -> ratio "
          f"{long_history / baseline:.2f}")
    print(f"outbox:   delivering a row without clinical content   {plain_row:6.3f} ms/row")
    print(f"outbox:   a row with consent_purpose (gate at departure) {checked_row:6.3f} ms/row  -> ratio "
          f"{checked_row / plain_row:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
