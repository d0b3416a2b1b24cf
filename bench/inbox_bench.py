"""Benchmark: the inbox with 1,000,000 stored requests spread over ~70 physicians.

Measures, service level (what a page or an API call runs, without HTTP):
  - listing one physician's "to do" box, first page of 50 (``hub.inbox.boxes.browse``: the union of index-ordered
    branches over the physician, the physicians they stand in for, their team; subjects decrypted; audited);
  - the next page through the keyset cursor;
  - the unread counts of the open boxes (shown by the HTML inbox beside the boxes; the physician has read 95 % of
    their open requests, so the counts cannot stop early);
  - opening one thread (``hub.inbox.threads.open_thread``: visibility, decrypt payload + history, read mark,
    audit entry);
and, in the same run on the same database, a baseline: a trivial indexed ``SELECT id FROM requests WHERE id = ?``
through the same engine, as a ratio. Usage:

    .venv/bin/python bench/inbox_bench.py [--requests 1000000] [--physicians 70] [--runs 200] [--database-url URL]

Honesty notes (printed too): the bulk rows are inserted with Core executemany of pre-built rows; their subjects
are really sealed (AES-GCM, one data key per 100 rows instead of one per row), but their payload is ONE reused
ciphertext blob that would not open (listing never decrypts payloads); each has a current routing decision. The
threads that are opened are 200 real requests submitted through ``hub.intake`` (payload, message, data keys,
lookups, routing, audit all real). The measured physician has read 95 % of their open requests. Before measuring,
statistics are refreshed (ANALYZE; VACUUM ANALYZE on PostgreSQL), as autovacuum / ``PRAGMA optimize`` would.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, insert, select, text

from hub.accounts import add_user
from hub.audit import Actor
from hub.config import load_settings
from hub.core import Hub
from hub.crypto.keystore import KeyStore
from hub.identifiers import with_luhn_key
from hub.inbox import boxes, threads
from hub.inbox.access import load_viewer
from hub.inbox.task_status import OPEN
from hub.intake import EmployerRef, Person, RequestDraft, Requester
from hub.store.migrate import upgrade
from hub.store.models import (
    Centre,
    DataKeyRow,
    Employer,
    Practitioner,
    Request,
    RoutingDecision,
    Team,
    Thread,
    ThreadRead,
    User,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import scratch_database  # noqa: E402

STATUSES = (("completed", 0.80), ("rejected", 0.03), ("cancelled", 0.02), ("requested", 0.05),
            ("received", 0.03), ("accepted", 0.02), ("in-progress", 0.03), ("on-hold", 0.02))
TEAM_SIZE = 10
BATCH = 20_000
REAL_THREADS = 200
KEPT_SCHEMA = "bench_inbox_kept"


async def load_directory(hub: Hub, physicians: int) -> tuple[list[int], list[int], int]:
    """Teams of ten physicians and a PDP cell; physician 1 is away and physician 0 stands in for them."""
    async with hub.db.session() as session, session.begin():
        centre = Centre(code="C1", name="Centre", commune_insee="44109")
        session.add(centre)
        await session.flush()
        teams = [Team(code=f"T{i}", name=f"Équipe {i}", centre_id=centre.id, kind="standard")
                 for i in range((physicians + TEAM_SIZE - 1) // TEAM_SIZE)]
        pdp = Team(code="PDP", name="Cellule PDP", centre_id=centre.id, kind="pdp")
        session.add_all([*teams, pdp])
        await session.flush()
        doctors = [Practitioner(rpps=with_luhn_key(f"2{i:09d}"), family_name=f"Médecin{i}", given_name="Bench",
                                role="mdt", team_id=teams[i // TEAM_SIZE].id) for i in range(physicians)]
        session.add_all(doctors)
        await session.flush()
        doctors[1].absent_until, doctors[1].delegate_id = date.today() + timedelta(days=30), doctors[0].id
        session.add(Employer(siret="44306184100047", name="Employeur Bench", name_key="EMPLOYEUR BENCH",
                             team_id=teams[0].id, physician_id=doctors[0].id))
        await add_user(session, "bench@spsti-bench.fr", "physician", "mot-de-passe-du-banc-2026", doctors[0].rpps)
        return [d.id for d in doctors], [d.team_id or 0 for d in doctors], pdp.id


async def load_requests(hub: Hub, n: int, doctors: list[int], doctor_teams: list[int], pdp: int) -> float:
    rng = random.Random(42)
    start = time.perf_counter()
    now = datetime.now(UTC)
    names, weights = zip(*STATUSES, strict=True)
    reused_payload = hub.vault.seal(b"\0" * 32, b'{"bench": "reused blob"}', "requests:bench:payload")
    keys: list[Any] = []
    for base in range(0, n, BATCH):
        thread_rows, request_rows, key_rows, decision_rows = [], [], [], []
        for i in range(base, min(n, base + BATCH)):
            if i % 100 == 0:
                keys.append(hub.vault.new_data_key())
                key_rows.append({"id": keys[-1].id, "kek_id": keys[-1].row.kek_id, "wrapped": keys[-1].row.wrapped,
                                 "created_at": now})
            key, thread_id, request_id = keys[-1], str(uuid.uuid4()), str(uuid.uuid4())
            at = now - timedelta(seconds=rng.randrange(3 * 365 * 86400))
            doctor = rng.randrange(len(doctors))
            triage = rng.random() < 0.01
            thread_rows.append({"id": thread_id, "reference": f"BN-{i:010d}", "channel": "email",
                                "created_at": at, "updated_at": at})
            request_rows.append({
                "id": request_id, "thread_id": thread_id, "event": "coordination-request",
                "status": rng.choices(names, weights)[0], "business_status": None, "source_key": f"bench:{i}",
                "requester_kind": "gp", "employer_siret": None, "in_triage": triage,
                "assigned_practitioner_id": None if triage else doctors[doctor],
                "assigned_team_id": None if triage else doctor_teams[doctor],
                "informed_team_id": pdp if rng.random() < 0.02 else None, "data_key_id": key.id,
                "subject_enc": hub.vault.seal(key.key, f"Demande {i}", f"requests:{request_id}:subject"),
                "payload_enc": reused_payload, "created_at": at, "updated_at": at, "last_activity_at": at})
            decision_rows.append({
                "request_id": request_id, "rule": "triage" if triage else "employer-siret",
                "practitioner_id": None if triage else doctors[doctor], "facts": "{}", "current": True,
                "team_id": None if triage else doctor_teams[doctor], "decided_by": "router", "created_at": at,
                "explanation": "En file de tri." if triage else "Adressé au médecin de l'employeur."})
        async with hub.db.engine.begin() as conn:
            if key_rows:
                await conn.execute(insert(DataKeyRow), key_rows)
            await conn.execute(insert(Thread), thread_rows)
            await conn.execute(insert(Request), request_rows)
            await conn.execute(insert(RoutingDecision), decision_rows)
        print(f"\r  {min(n, base + BATCH):,} / {n:,} requests stored", end="", flush=True)
    print()
    return time.perf_counter() - start


async def refresh_statistics(hub: Hub) -> None:
    """What autovacuum (PostgreSQL) or ``PRAGMA optimize`` (SQLite) do in a running system."""
    async with hub.db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE" if hub.db.is_postgres else "ANALYZE"))


async def real_threads(hub: Hub) -> list[str]:
    ids = []
    for i in range(REAL_THREADS):
        draft = RequestDraft(
            event="coordination-request", channel="email", source_key=f"bench-real:{i}",
            requester=Requester(kind="gp", name="Dr Bench", email="gp@bench.fr"), subject=f"Demande réelle {i}",
            reason="Arrêt long, reprise à préparer. " * 20, worker=Person(family_name=f"Salarié{i}",
                                                                            given_names="Test"),
            employer=EmployerRef(siret="44306184100047"))
        ids.append((await hub.intake.submit(draft, Actor("bench", "bench"))).thread_id)
    return ids


async def mark_read(hub: Hub) -> None:
    """The measured physician has read 95 % of the open requests they see (the unread counts' worst side)."""
    async with hub.db.session() as session, session.begin():
        user = (await session.execute(select(User).where(User.email == "bench@spsti-bench.fr"))).scalar_one()
        viewer = await load_viewer(session, user, date.today())
        already = select(ThreadRead.thread_id).where(ThreadRead.user_id == user.id)
        rows = (await session.execute(select(Request.thread_id, Request.last_activity_at).where(
            boxes.visible_clause(viewer), Request.status.in_(OPEN), Request.thread_id.not_in(already)))).all()
        rng = random.Random(7)
        reads = [{"user_id": user.id, "thread_id": r.thread_id, "read_at": r.last_activity_at}
                 for r in rows if rng.random() < 0.95]
        await session.execute(insert(ThreadRead), reads)
    print(f"  the measured physician has read {len(reads):,} of the {len(rows):,} open requests they see")


async def timed(runs: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    await call(0)  # warm-up
    out = []
    for i in range(runs):
        t0 = time.perf_counter()
        await call(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def run(args: argparse.Namespace) -> None:
    if args.keep:  # a data set kept between runs (to study plans), loaded on the first run only
        folder = Path(args.keep)
        if args.database_url and args.database_url.startswith("postgresql"):
            dsn = args.database_url.replace("postgresql+asyncpg://", "postgresql://")
            conn = await asyncpg.connect(dsn)
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{KEPT_SCHEMA}"')
            await conn.close()
            await run_in(args, str(folder), args.database_url, KEPT_SCHEMA)
        else:
            await run_in(args, str(folder), f"sqlite+aiosqlite:///{folder / 'bench.db'}", None)
        return
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(args.database_url, Path(tmp)) as (url, schema):
            await run_in(args, tmp, url, schema)


async def run_in(args: argparse.Namespace, folder: str, url: str, schema: str | None) -> None:
    env = {"GUICHET_HOME": f"{folder}/home", "GUICHET_KEYS_DIR": f"{folder}/keys",
           "GUICHET_CONFIG": f"{folder}/none.toml", "GUICHET_DATABASE_URL": url}
    settings = load_settings(env).with_(database_schema=schema)
    KeyStore(settings.keys_dir).initialise()  # keeps existing keys
    hub = Hub.open(settings)
    try:
        await upgrade(hub.db)
        await bench(hub, args, "postgresql" if hub.db.is_postgres else "sqlite")
    finally:
        await hub.close()


async def bench(hub: Hub, args: argparse.Namespace, backend: str) -> None:
    print(f"Inbox benchmark on {backend}: {args.requests:,} requests over {args.physicians} physicians "
          f"(teams of {TEAM_SIZE}), {args.runs} runs per figure")
    async with hub.db.session() as session:
        loaded = (await session.execute(select(func.count()).select_from(Thread))).scalar_one()
    if not loaded:
        doctors, teams, pdp = await load_directory(hub, args.physicians)
        seconds = await load_requests(hub, args.requests, doctors, teams, pdp)
        print(f"  bulk load: {seconds:.0f} s (Core executemany of pre-built rows, with a routing decision each)")
        await real_threads(hub)
        await mark_read(hub)
        await refresh_statistics(hub)
        print("  statistics refreshed: ANALYZE (SQLite), VACUUM ANALYZE (PostgreSQL)")
    else:
        print(f"  reusing the {loaded:,} threads already stored (--keep)")
    async with hub.db.session() as session:
        opened = list((await session.execute(select(Request.thread_id).where(
            Request.source_key.startswith("bench-real:")))).scalars())
    async with hub.db.session() as session:
        user = (await session.execute(select(User).where(User.email == "bench@spsti-bench.fr"))).scalar_one()
        viewer = await load_viewer(session, user, date.today())
        visible = (await session.execute(select(func.count()).select_from(Request).where(
            boxes.visible_clause(viewer)))).scalar()
        sample = list((await session.execute(text("SELECT id FROM requests LIMIT 1000"))).scalars())
    print(f"  the measured physician sees {visible:,} requests ({len(viewer.practitioners)} physicians: self, "
          f"team, stand-in); {REAL_THREADS} real requests (via intake) are the threads opened")
    first, _ = await boxes.browse(hub, viewer, "todo", 50)
    assert len(first.items) == 50 and first.next_cursor

    async def list_first(i: int) -> Any:
        return await boxes.browse(hub, viewer, "todo", 50)

    async def list_next(i: int) -> Any:
        return await boxes.browse(hub, viewer, "todo", 50, first.next_cursor)

    async def counts(i: int) -> Any:
        async with hub.db.session() as session, session.begin():
            return await boxes.unread_counts(session, viewer, boxes.COUNTED_BOXES)

    async def open_one(i: int) -> Any:
        return await threads.open_thread(hub, viewer, opened[i % len(opened)])

    async def baseline(i: int) -> Any:
        async with hub.db.session() as session:
            return (await session.execute(text("SELECT id FROM requests WHERE id = :id"),
                                          {"id": sample[i % len(sample)]})).scalar()

    figures = [("baseline: SELECT id FROM requests WHERE id=?", await timed(args.runs, baseline)),
               ("list 'to do', first page of 50 (audited)", await timed(args.runs, list_first)),
               ("list 'to do', next page (keyset cursor)", await timed(args.runs, list_next)),
               ("unread counts of the open boxes (capped 99)", await timed(args.runs, counts)),
               ("open one thread (decrypt + read mark + audit)", await timed(args.runs, open_one))]
    base95 = pct(figures[0][1], 95)
    print(f"\n  {'figure':<48} {'p50 ms':>8} {'p95 ms':>8} {'p95 / baseline p95':>20}")
    for name, values in figures:
        print(f"  {name:<48} {pct(values, 50):8.2f} {pct(values, 95):8.2f} {pct(values, 95) / base95:19.1f}x")
    print("\n  Notes: bulk rows share one data key per 100 rows and ONE reused payload ciphertext (listing never "
          "decrypts payloads);\n  their subjects are really sealed and decrypted by the listing; each has a current "
          "routing decision.\n  Opened threads are real intake requests.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--physicians", type=int, default=70)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="postgresql+asyncpg://… (default: a SQLite file)")
    parser.add_argument("--keep", metavar="DIR", help="keep (and reuse) the data set: keys and SQLite file in DIR, "
                        f"or the PostgreSQL schema {KEPT_SCHEMA} (drop it yourself)")
    args = parser.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
