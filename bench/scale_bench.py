"""Benchmark: FHIR messages accepted per second with 1, 2 and 3 ``guichet serve --role api`` processes on one
PostgreSQL, in one run, and the ratio to the single process.

For each count N the same installation (one schema, one key store, one ``GUICHET_PUBLIC_URL``) is served by N API
processes on distinct ports; 64 concurrent clients spread over them (client i talks to process i mod N, with a token
obtained from process 0: tokens are valid on every instance). Each message is a full ``$process-message`` (token
check, rate limit in the database, validation, encryption, routing, commit, audit). Before the figures the script
prints the machine's core count and load: on a machine with fewer free cores than processes, the ratio measures
contention for the CPU, not the design.

    .venv/bin/python bench/scale_bench.py [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
                                          [--messages 1500] [--clients 64] [--max-servers 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _db import scratch_database  # noqa: E402
from fhir_bench import bodies, cpu_seconds, free_port, load, prepare, summary, wait_ready  # noqa: E402

from tests.fhir_support import get_token  # noqa: E402


async def run_with(count: int, env: dict[str, str], clients: list, messages: int, warmup: int) -> float:  # type: ignore[type-arg]
    ports = [free_port() for _ in range(count)]
    servers = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub.cli", "serve", "--role", "api",
        env={**os.environ, **env, "GUICHET_HTTP_PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL) for port in ports]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base in bases:
            await wait_ready(base + "/readyz")
        async with aiohttp.ClientSession() as http:
            tokens = [await get_token(http, bases[0], c) for c in clients]
        payloads = bodies(messages + warmup)
        targets = [b + "/fhir/$process-message" for b in bases]
        await load(targets, tokens, payloads[:warmup])
        cpu_before = sum(cpu_seconds(p.pid) for p in servers)
        elapsed, lat, st = await load(targets, tokens, payloads[warmup:])
        cpu = sum(cpu_seconds(p.pid) for p in servers) - cpu_before
        rate = summary(f"{count} API process(es)", messages, elapsed, lat, st)
        print(f"  guichet processes CPU: {cpu * 1000 / messages:.2f} ms per message "
              f"({cpu / elapsed * 100:.0f}% of one core); load average {os.getloadavg()[0]:.1f}", flush=True)
        return rate
    finally:
        for proc in servers:
            proc.terminate()
            await proc.wait()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--max-servers", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get(
        "GUICHET_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        parser.error("several instances share one PostgreSQL: give a postgresql+asyncpg:// URL")
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(args.database_url, Path(tmp)) as (url, schema):
            env, clients = await prepare(Path(tmp) / "home", url, schema, args.clients)
            print(f"backend postgresql, {args.clients} concurrent clients, {args.messages} messages per run; "
                  f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the first run", flush=True)
            rates = {}
            for count in range(1, args.max_servers + 1):
                rates[count] = await run_with(count, env, clients, args.messages, args.warmup)
            for count in range(2, args.max_servers + 1):
                print(f"ratio {count} processes / 1 process: {rates[count] / rates[1]:.2f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
