"""Benchmark: ``hub.intake.submit`` alone (store + encrypt + route + audit + notices), sequential and concurrent.

Baseline in the same run, on the same database: one bare Core INSERT of a row of the same size per transaction.
Usage: .venv/bin/python bench/intake_bench.py [--requests 500] [--concurrency 16] [--database-url URL]
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

from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, insert

from hub.audit import Actor
from hub.config import load_settings
from hub.core import Hub
from hub.crypto.keystore import KeyStore
from hub.demo import EXAMPLE_DIRECTORY
from hub.directory.importer import import_directory
from hub.intake import ConsentStatement, EmployerRef, Person, RequestDraft, Requester, WorkStoppage
from hub.store.db import Database
from hub.store.migrate import upgrade
from hub.store.sqlcount import StatementCounter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import scratch_database  # noqa: E402


def draft(i: int, run: str) -> RequestDraft:
    today = date.today()
    return RequestDraft(
        event="pdp-referral", channel="fhir", source_key=f"bench:{run}:{i}",
        requester=Requester(kind="gp", name="Dr Bench", rpps="10000000074", email="gp@example.fr"),
        subject="Saisine PDP", reason="Texte libre de la demande. " * 20,
        worker=Person(family_name=f"Nom{i}", given_names="Prénom", birth_date=date(1980, 1, 1)),
        employer=EmployerRef(siret="04423065100018"), job="Boulanger",
        stoppage=WorkStoppage(start=today - timedelta(days=40), cause="illness"),
        consent=ConsentStatement(decision="permit", given_on=today, channel="fhir", declared_by="third-party"))


async def bare(url: str, schema: str | None, n: int, concurrency: int) -> float:
    db = Database(url, schema=schema)
    table = Table("bench_bare", MetaData(), Column("id", Integer, primary_key=True),
                  Column("k", String(64)), Column("blob", LargeBinary))
    async with db.engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
    blob = os.urandom(1500)

    async def one(i: int) -> None:
        async with db.engine.begin() as conn:
            await conn.execute(insert(table).values(k=str(i), blob=blob))

    started = time.perf_counter()
    await _run(one, n, concurrency)
    elapsed = time.perf_counter() - started
    async with db.engine.begin() as conn:
        await conn.run_sync(table.metadata.drop_all)
    await db.dispose()
    return n / elapsed


async def _run(func, n: int, concurrency: int) -> None:  # type: ignore[no-untyped-def]
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            await func(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
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
            actor = Actor("bench", "bench")
            results = {}
            counter = StatementCounter(hub.db.engine)
            for label, conc in (("sequential", 1), (f"concurrency {args.concurrency}", args.concurrency)):
                await hub.audit.flush()  # chain the previous phase's entries outside the measure
                cpu, started, before = time.process_time(), time.perf_counter(), counter.count
                await _run(lambda i, lab=label: hub.intake.submit(draft(i, lab), actor), args.requests, conc)
                wall = time.perf_counter() - started
                results[label] = (args.requests / wall, (time.process_time() - cpu) * 1000 / args.requests,
                                  (counter.count - before) / args.requests)
            await hub.close()
            base_rate = await bare(url, schema, args.requests, args.concurrency)
    print(f"database: {url.split(':', 1)[0]}; {args.requests} requests per run; load average "
          f"{os.getloadavg()[0]:.1f}")
    for label, (rate, cpu_ms, sql) in results.items():
        print(f"intake.submit {label:16} {rate:7.1f} req/s   CPU {cpu_ms:5.2f} ms/request   "
              f"SQL statements per accepted request {sql:5.1f} (audit chaining after commit included)")
    print(f"baseline bare INSERT+COMMIT, concurrency {args.concurrency}: {base_rate:7.1f} tx/s  -> ratio "
          f"{results[f'concurrency {args.concurrency}'][0] / base_rate:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
