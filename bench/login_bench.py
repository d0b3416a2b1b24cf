"""Benchmark: what a burst of inbox logins does to everyone else (Argon2 is costly on purpose).

Starts the real server (api role) on a scratch database with ``--accounts`` accounts (role admin: no second factor,
so each login is exactly one Argon2 verification), then measures the event loop's lag (how late a 5 ms timer
fires: every other request of the process waits at least that long) in three situations, in the same run:
  - baseline: no login under way;
  - during a burst of ``--burst`` concurrent logins, as shipped (Argon2 in a worker thread: ``run_in_executor``);
  - during the same burst with Argon2 run on the event loop (the former code, reproduced by running the executor
    call inline), for comparison.
Usage:

    .venv/bin/python bench/login_bench.py [--accounts 20] [--burst 20] [--rounds 3] [--database-url URL]

Honesty notes: one machine (shared), client and server in one process and one event loop (the client's own work
is the same in every situation); argon2-cffi releases the GIL while hashing, which is what lets the worker threads
help; the database work of each login (SQLite via aiosqlite's thread, or asyncpg) is the same in both.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from hub.accounts import add_user
from hub.config import load_settings
from hub.core import Hub
from hub.crypto.keystore import KeyStore
from hub.plugins import load_connectors
from hub.server import Server
from hub.store.migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import scratch_database  # noqa: E402

PASSWORD = "mot-de-passe-du-banc-2026"  # noqa: S105 - a throw-away database


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


async def lag_while(work: Callable[[], Awaitable[Any]] | None, idle_seconds: float = 1.0) -> tuple[list[float], float]:
    """Event-loop lag (ms): how late a 5 ms timer fires, sampled while ``work`` runs (or for ``idle_seconds``);
    and the wall time of ``work``. A late timer is a late answer to every other user of this process."""
    lags: list[float] = []
    done = asyncio.Event()

    async def monitor() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(max(0.0, (time.perf_counter() - start - 0.005) * 1000))

    watcher = asyncio.ensure_future(monitor())
    start = time.perf_counter()
    if work is None:
        await asyncio.sleep(idle_seconds)
    else:
        await work()
    wall = time.perf_counter() - start
    done.set()
    await watcher
    return lags, wall


async def burst_of_logins(url: str, accounts: int, burst: int, rounds: int) -> None:
    async def one(i: int) -> None:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}/api/login", json={"email": f"bench{i % accounts}@spsti-bench.fr",
                                                           "password": PASSWORD}) as response:
                assert response.status == 200, await response.text()

    for _ in range(rounds):
        await asyncio.gather(*(one(i) for i in range(burst)))


class InlineExecutor:
    """``loop.run_in_executor`` replaced by a direct call: the former, blocking shape of the login."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.real = loop, loop.run_in_executor

    def __call__(self, executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self.loop.create_future()
        future.set_result(func(*args))
        return future


async def bench(hub: Hub, args: argparse.Namespace) -> None:
    async with hub.db.session() as session, session.begin():
        for i in range(args.accounts):
            await add_user(session, f"bench{i}@spsti-bench.fr", "admin", PASSWORD)
    server = Server(hub, load_connectors(), ("api",))
    await server.start()
    url = f"http://127.0.0.1:{server.http_port}"
    loop = asyncio.get_running_loop()
    try:
        bursts = lambda: burst_of_logins(url, args.accounts, args.burst, args.rounds)  # noqa: E731
        await burst_of_logins(url, args.accounts, 2, 1)  # warm up
        figures = {"baseline: no login under way": await lag_while(None),
                   "logins as shipped (Argon2 in a worker thread)": await lag_while(bursts)}
        loop.run_in_executor = InlineExecutor(loop)  # type: ignore[method-assign]
        try:
            figures["same logins, Argon2 on the event loop"] = await lag_while(bursts)
        finally:
            del loop.run_in_executor  # type: ignore[method-assign]
    finally:
        await server.stop()
    backend = "postgresql" if hub.db.is_postgres else "sqlite"
    total = args.burst * args.rounds
    print(f"Login burst benchmark on {backend}: {args.rounds} bursts of {args.burst} concurrent logins "
          f"({total} Argon2 verifications), event-loop lag sampled every 5 ms")
    base_max = max(max(figures["baseline: no login under way"][0]), 0.01)
    print(f"\n  {'figure':<46} {'lag p50':>8} {'lag p99':>8} {'lag max':>8} {'max / baseline':>15} {'logins/s':>9}")
    for name, (lags, wall) in figures.items():
        rate = f"{total / wall:9.1f}" if "baseline" not in name else f"{'-':>9}"
        print(f"  {name:<46} {pct(lags, 50):8.2f} {pct(lags, 99):8.2f} {max(lags):8.2f} "
              f"{max(lags) / base_max:14.1f}x {rate}")
    print("  (lag in ms; client and server share one process and one loop, as a busy instance's users share it)")


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(args.database_url, Path(tmp)) as (url, schema):
            env = {"GUICHET_HOME": f"{tmp}/home", "GUICHET_KEYS_DIR": f"{tmp}/keys",
                   "GUICHET_CONFIG": f"{tmp}/none.toml", "GUICHET_DATABASE_URL": url, "GUICHET_HTTP_PORT": "0",
                   "GUICHET_SMTP_PORT": "0"}
            settings = load_settings(env).with_(database_schema=schema)
            KeyStore(settings.keys_dir).initialise()
            hub = Hub.open(settings)
            try:
                await upgrade(hub.db)
                await bench(hub, args)
            finally:
                await hub.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
