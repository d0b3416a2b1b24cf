"""Benchmark: the indicators page for a year of one SPSTI's volume (30,000 requests by default).

Measures, over real HTTP (aiohttp app on an ephemeral port, a logged-in ``direction`` session), each answer read
in full:
  - cold (the report cache off, ``cache_seconds = 0``: every page computes): ``GET /indicateurs?year=Y&by=…``
    for each breakdown (channel, partner, team, event): session check, the figures by SQL, masking, five SVG
    charts, the HTML page; ``GET /indicateurs?month=…`` (one month); ``GET /api/indicators`` (JSON, the year);
  - warm (the default: a report is reused 300 s): the same year page, as most views of a dashboard are;
  - on SQLite, the CPU time of this process per cold page (the database runs in it), beside the wall time: the
    machine's load average is printed too, as wall times on a shared machine include waiting for a core;
and, in the same run, two baselines: ``GET /healthz`` on the same server (a bare aiohttp endpoint: HTTP cost
alone) and a bare ``SELECT COUNT(*) FROM requests WHERE created_at`` over the year through the same engine.
Usage:

    .venv/bin/python bench/indicators_bench.py [--requests 30000] [--runs 30] [--database-url URL]

Data set (printed too): the requests of one year spread evenly, 4 channels, 3 kinds, 8 teams, 5 CPTS/DAC API
clients; per request a thread, an incoming message and an acknowledgement, a first answer for 90 % of them
(0 to 15 days later), a closing for 80 %, one routing decision (two for the 6 % that went through triage), two
outbox rows; 1,000 law-check refusals; plus the previous year at a tenth of the volume (so that the backlog counts
reach back). The rows go in by bulk Core inserts, so the facts the ORM events keep on each request (working-day
ordinals, triage times, the thread's channel and client: ``hub.store.models.indicators``) are set here the same
way. Encrypted columns hold a
dummy blob (2 kB for a request's payload): the indicators never read them.
Statistics are refreshed (ANALYZE; VACUUM ANALYZE on PostgreSQL) before measuring, as autovacuum / ``PRAGMA
optimize`` would.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, insert, select, text

from hub.accounts import add_user
from hub.clock import in_paris
from hub.config import load_settings
from hub.core import Hub
from hub.crypto.keystore import KeyStore
from hub.indicators.calendar import working_day_ordinal
from hub.store.migrate import upgrade
from hub.store.models import (
    ApiClient,
    IntakeRefusal,
    Message,
    OutboxItem,
    Request,
    RoutingDecision,
    Structure,
    Team,
    Thread,
)
from hub.web.app import build_app
from hub.web.indicators_pages import INDICATORS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import scratch_database  # noqa: E402

CHANNELS = ("email", "fhir", "form", "mssante")
EVENTS = ("pre-return-visit-request", "pdp-referral", "coordination-request")
KINDS = ("gp", "worker", "medecin_conseil", "partner")
REASONS = ("employer-cannot-request", "stoppage-too-short", "consent-missing", "stoppage-over")
BATCH = 5_000
PASSWORD = "bench-password-2026"


async def load_directory(hub: Hub) -> tuple[list[int], list[str]]:
    async with hub.db.session() as session, session.begin():
        teams = [Team(code=f"T{i}", name=f"Équipe {i}", kind="standard") for i in range(8)]
        structures = [Structure(id=f"cpts-{i}", name=f"CPTS {i}", kind="cpts") for i in range(5)]
        session.add_all([*teams, *structures])
        await session.flush()
        clients = [ApiClient(id=f"client-{i}", name=f"SI CPTS {i}", structure_id=f"cpts-{i}", jwks="{}",
                             scopes="system/MeasureReport.read") for i in range(5)]
        session.add_all(clients)
        await add_user(session, "direction@spsti-bench.fr", "direction", PASSWORD)
        return [t.id for t in teams], [c.id for c in clients]


def wd(stamp: datetime | None) -> int | None:
    return None if stamp is None else working_day_ordinal(in_paris(stamp).date())


async def load_year(hub: Hub, year: int, n: int, teams: list[int], clients: list[str], rng: random.Random) -> None:
    start = datetime(year, 1, 1, tzinfo=UTC)
    span = (datetime(year + 1, 1, 1, tzinfo=UTC) - start).total_seconds()
    blob, payload = b"\0" * 48, b"\1" * 2048  # a request's encrypted focus is a few kB: scans must not read it
    for base in range(0, n, BATCH):
        threads, requests, messages, decisions, outbox = [], [], [], [], []
        for i in range(base, min(n, base + BATCH)):
            thread_id, request_id = str(uuid.uuid4()), str(uuid.uuid4())
            at = start + timedelta(seconds=span * (i + rng.random()) / n)
            channel = rng.choice(CHANNELS)
            client = rng.choice(clients) if channel == "fhir" else None
            answered = at + timedelta(hours=rng.uniform(1, 15 * 24)) if rng.random() < 0.9 else None
            closed = (answered or at) + timedelta(hours=rng.uniform(1, 20 * 24)) if rng.random() < 0.8 else None
            status = "completed" if closed else rng.choice(("received", "in-progress", "on-hold"))
            team = rng.choice(teams)
            threads.append({"id": thread_id, "reference": f"B{year}-{i:07d}", "channel": channel,
                            "client_id": client, "created_at": at, "updated_at": at})
            requests.append({"id": request_id, "thread_id": thread_id, "event": rng.choice(EVENTS),
                             "status": status, "source_key": f"bench:{year}:{i}",
                             "requester_kind": "partner" if client else rng.choice(KINDS),
                             "assigned_team_id": team, "in_triage": False, "data_key_id": "bench",
                             "subject_enc": blob, "payload_enc": payload, "created_at": at, "updated_at": closed or at,
                             "last_activity_at": closed or at, "closed_at": closed,
                             "first_answer_at": answered, "channel": channel, "client_id": client,
                             "created_wd": wd(at), "answer_wd": wd(answered),
                             "closed_wd": wd(closed), "triage_in_at": None, "triage_out_at": None})
            for kind, direction, when in (("request", "in", at), ("ack", "out", at),
                                          ("reply", "out", answered)):
                if when is not None:
                    messages.append({"id": str(uuid.uuid4()), "thread_id": thread_id, "request_id": request_id,
                                     "direction": direction, "kind": kind, "channel": channel,
                                     "data_key_id": "bench", "body_enc": blob, "created_at": when})
            if rng.random() < 0.06:
                left = at + timedelta(hours=rng.uniform(0.2, 30))
                requests[-1].update(triage_in_at=at, triage_out_at=left)  # what the ORM events keep (Core: by hand)
                decisions.append({"request_id": request_id, "rule": "no-employer", "triage_reason": "SIRET inconnu",
                                  "explanation": "-", "current": False, "decided_by": "router", "created_at": at,
                                  "facts": "{}"})
                decisions.append({"request_id": request_id, "rule": "manual", "team_id": team, "explanation": "-",
                                  "current": True, "decided_by": "tri", "facts": "{}", "created_at": left})
            else:
                decisions.append({"request_id": request_id, "rule": "employer-siret", "team_id": team,
                                  "explanation": "-", "current": True, "decided_by": "router", "created_at": at,
                                  "facts": "{}"})
            for purpose, when in (("ack", at), ("reply", answered)):
                if when is not None:
                    tries = 1 if rng.random() < 0.95 else rng.randint(2, 8)
                    dead = tries == 8
                    outbox.append({"id": str(uuid.uuid4()), "kind": "email", "purpose": purpose,
                                   "thread_id": thread_id, "status": "dead" if dead else "sent", "attempts": tries,
                                   "next_attempt_at": when, "data_key_id": "bench", "payload_enc": blob,
                                   "created_at": when, "sent_at": None if dead else when + timedelta(seconds=tries)})
        decisions = [{"team_id": None, "triage_reason": None, **d} for d in decisions]  # executemany: same keys
        async with hub.db.engine.begin() as conn:
            await conn.execute(insert(Thread), threads)
            await conn.execute(insert(Request), requests)
            await conn.execute(insert(Message), messages)
            await conn.execute(insert(RoutingDecision), decisions)
            await conn.execute(insert(OutboxItem), outbox)
        print(f"\r  {year}: {min(n, base + BATCH):,} / {n:,} requests stored", end="", flush=True)
    refusals = [{"refusal_id": str(uuid.uuid4()), "at": start + timedelta(seconds=rng.uniform(0, span)),
                 "channel": rng.choice(CHANNELS), "event": rng.choice(EVENTS), "requester_kind": "gp",
                 "client_id": None, "reason": rng.choice(REASONS)} for _ in range(n // 30)]
    async with hub.db.engine.begin() as conn:
        await conn.execute(insert(IntakeRefusal), refusals)
    print()


CPU: list[float] = []


async def timed(runs: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    await call()  # warm-up
    out = []
    CPU.clear()
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        await call()
        out.append((time.perf_counter() - t0) * 1000)
        CPU.append((time.process_time() - c0) * 1000)
    return out


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def run_in(args: argparse.Namespace, folder: str, url: str, schema: str | None) -> None:
    settings = load_settings({"GUICHET_HOME": folder, "GUICHET_KEYS_DIR": f"{folder}/keys",
                              "GUICHET_DATABASE_URL": url, "GUICHET_CONFIG": f"{folder}/none.toml",
                              **({"GUICHET_DATABASE_SCHEMA": schema} if schema else {})})
    KeyStore(settings.keys_dir).initialise()
    hub = Hub.open(settings)
    await upgrade(hub.db)
    backend = "PostgreSQL" if hub.db.is_postgres else "SQLite"
    year = datetime.now(UTC).year - 1
    print(f"Indicators benchmark on {backend}: {args.requests:,} requests in {year} "
          f"(+ {args.requests // 10:,} in {year - 1})")
    rng = random.Random(42)
    teams, clients = await load_directory(hub)
    t0 = time.perf_counter()
    await load_year(hub, year - 1, args.requests // 10, teams, clients, rng)
    await load_year(hub, year, args.requests, teams, clients, rng)
    print(f"  bulk load: {time.perf_counter() - t0:.0f} s")
    async with hub.db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE" if hub.db.is_postgres else "ANALYZE"))
    app = build_app(hub)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    first, last = f"{year}-01-01", f"{year}-12-31"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            login = await http.post(f"{base}/api/login", json={"email": "direction@spsti-bench.fr",
                                                                "password": PASSWORD})
            assert login.status == 200, await login.text()

            def get(path: str) -> Callable[[], Awaitable[Any]]:
                async def call() -> Any:
                    async with http.get(base + path) as answer:
                        assert answer.status == 200, (path, answer.status)
                        return await answer.read()
                return call

            async def count() -> Any:
                async with hub.db.session() as session:
                    return (await session.execute(select(func.count()).select_from(Request).where(
                        Request.created_at >= datetime(year, 1, 1, tzinfo=UTC),
                        Request.created_at < datetime(year + 1, 1, 1, tzinfo=UTC)))).scalar()

            received = await count()
            page = (await get(f"/indicateurs?year={year}&by=channel")()).decode()
            assert f"année {year}" in page and page.count("<svg") == 5
            indicators = app[INDICATORS]
            warm_settings = indicators.settings
            indicators.settings = dataclasses.replace(warm_settings, cache_seconds=0)
            figures = [("baseline: GET /healthz (bare aiohttp endpoint)", await timed(args.runs, get("/healthz"))),
                       (f"baseline: SELECT COUNT(*) of the year ({received:,})", await timed(args.runs, count))]
            cpu: dict[str, float] = {}
            for by in ("channel", "partner", "team", "event"):
                name = f"cold page /indicateurs, year, by={by}"
                figures.append((name, await timed(args.runs, get(f"/indicateurs?year={year}&by={by}"))))
                cpu[name] = statistics.median(CPU)
            figures.append(("cold page /indicateurs, one month (June), by=team",
                            await timed(args.runs, get(f"/indicateurs?month={year}-06&by=team"))))
            figures.append(("cold GET /api/indicators, year, by=channel (JSON)",
                            await timed(args.runs, get(f"/api/indicators?from={first}&to={last}&by=channel"))))
            indicators.settings = warm_settings
            figures.append(("warm page /indicateurs, year, by=channel (cached)",
                            await timed(args.runs, get(f"/indicateurs?year={year}&by=channel"))))
    finally:
        await runner.cleanup()
        await hub.close()
    http_base, sql_base = pct(figures[0][1], 95), pct(figures[1][1], 95)
    print(f"\n  {'measured (' + str(args.runs) + ' runs each)':<50} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p95/healthz':>12} {'p95/COUNT':>10}")
    for name, values in figures:
        print(f"  {name:<50} {pct(values, 50):8.1f} {pct(values, 95):8.1f} {pct(values, 95) / http_base:11.1f}x "
              f"{pct(values, 95) / sql_base:9.1f}x")
    if not hub.db.is_postgres:
        for name, value in cpu.items():
            print(f"  {name}: median CPU time of this process (app + SQLite) {value:.0f} ms")
    for kind in ("cold", "warm"):
        worst = max(pct(v, 95) for n, v in figures if n.startswith(f"{kind} page"))
        print(f"  worst {kind} page p95: {worst:.0f} ms (target: under 300 ms) -> {'OK' if worst < 300 else 'OVER'}")
    print(f"  load average of the machine (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(args.database_url, Path(tmp)) as (url, schema):
            await run_in(args, tmp, url, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=None, help="postgresql+asyncpg://… (default: a SQLite file)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
