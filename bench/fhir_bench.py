"""Benchmark: FHIR messages accepted per second, end to end, at 64 concurrent clients.

A real ``guichet serve --role api`` process (token checked, Bundle validated, profile and law checked, payload
encrypted, request committed and routed, audit appended) receives ``$process-message`` calls from 64 concurrent
API clients, each with its own key and access token. In the same run the same load generator sends the same
bodies to a bare aiohttp endpoint (in its own process) that only reads the body, and the ratio is printed.

    .venv/bin/python bench/fhir_bench.py [--messages 3000] [--clients 64] [--database-url URL]

``--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test`` runs in a throw-away schema (dropped after).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from hub.config import load_settings
from hub.core import Hub
from hub.crypto.keystore import KeyStore
from hub.demo import EXAMPLE_DIRECTORY
from hub.directory.importer import import_directory
from hub.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _db import scratch_database  # noqa: E402

from tests.fhir_support import Client, add_client, example, get_token  # noqa: E402

EVENTS = ("pre-return-visit-request", "pdp-referral", "coordination-request")
BARE_SERVER = """
import sys
from aiohttp import web
async def handle(request):
    body = await request.read()
    return web.json_response({"received": len(body)})
app = web.Application(client_max_size=32 * 1024 * 1024)
app.router.add_post("/fhir/$process-message", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(url: str, patience: float = 30.0) -> None:
    deadline = time.monotonic() + patience
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as r:
                    if r.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer in {patience} s")
            await asyncio.sleep(0.1)


def bodies(count: int) -> list[bytes]:
    out = []
    for i in range(count):
        out.append(json.dumps(example(EVENTS[i % len(EVENTS)], header_id=uuid.uuid4().hex)).encode())
    return out


async def load(urls: list[str], tokens: list[str], payloads: list[bytes]) -> tuple[float, list[float], dict[int, int]]:
    """Send every payload once, ``len(tokens)`` at a time (one worker per client, worker i to ``urls[i % n]``);
    return (seconds, latencies, statuses)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for p in payloads:
        queue.put_nowait(p)
    connector = aiohttp.TCPConnector(limit=len(tokens) + 8)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker(url: str, token: str) -> None:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                start = time.perf_counter()
                async with http.post(url, data=body, headers=headers) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(worker(urls[i % len(urls)], t) for i, t in enumerate(tokens)))
        elapsed = time.perf_counter() - began
    return elapsed, latencies, statuses


def summary(label: str, count: int, elapsed: float, latencies: list[float], statuses: dict[int, int]) -> float:
    rate = count / elapsed
    cuts = statistics.quantiles(latencies, n=100)
    if set(statuses) != {200}:
        print(f"WARNING: {label}: not every call was accepted: {statuses}", flush=True)
    print(f"{label:<34} {rate:9.1f} msg/s   p50 {cuts[49] * 1000:7.1f} ms   p99 {cuts[98] * 1000:7.1f} ms   "
          f"statuses {dict(sorted(statuses.items()))}", flush=True)
    return rate


async def prepare(home: Path, url: str, schema: str | None, clients: int) -> tuple[dict[str, str], list[Client]]:
    env = {"GUICHET_HOME": str(home), "GUICHET_KEYS_DIR": str(home / "keys"), "GUICHET_DATABASE_URL": url,
           "GUICHET_CONFIG": str(home / "none.toml"), "GUICHET_ADDRESS": "guichet@spsti-bench.fr",
           "GUICHET_PUBLIC_URL": "http://guichet-bench.invalid"}  # one issuer for every API process
    if schema:
        env["GUICHET_DATABASE_SCHEMA"] = schema
    settings = load_settings(env)
    KeyStore(settings.keys_dir).initialise()
    hub = Hub.open(settings)
    try:
        await upgrade(hub.db)
        await import_directory(hub, EXAMPLE_DIRECTORY, progress=False)
        registered = [await add_client(hub, structure=("CPTS-NANTES-NORD", "DAC-44")[i % 2], name=f"bench {i}")
                      for i in range(clients)]
    finally:
        await hub.close()
    return env, registered


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--servers", type=int, default=1, help="guichet API processes (clients spread over them)")
    parser.add_argument("--py-spy", metavar="FILE", help="record the server with py-spy (collapsed stacks) into FILE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(args.database_url, Path(tmp)) as (url, schema):
            env, clients = await prepare(Path(tmp) / "home", url, schema, args.clients)
            ports, bare_port = [free_port() for _ in range(args.servers)], free_port()
            servers = [await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hub.cli", "serve", "--role", "api",
                env={**os.environ, **env, "GUICHET_HTTP_PORT": str(port),
                     "GUICHET_SQL_COUNT_FILE": str(Path(tmp) / f"sql-count-{port}")},
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL) for port in ports]
            bare = await asyncio.create_subprocess_exec(sys.executable, "-c", BARE_SERVER, str(bare_port))
            try:
                bases = [f"http://127.0.0.1:{port}" for port in ports]
                base = bases[0]
                for b in bases:
                    await wait_ready(b + "/healthz")
                await wait_ready(f"http://127.0.0.1:{bare_port}/")
                async with aiohttp.ClientSession() as http:
                    tokens = [await get_token(http, base, c) for c in clients]
                payloads = bodies(args.messages + args.warmup)
                backend = "postgresql" if url.startswith("postgresql") else "sqlite"
                print(f"backend {backend}, {args.servers} API process(es), {args.clients} concurrent clients, "
                      f"{args.messages} messages "
                      f"({', '.join(EVENTS)}), {len(payloads[0])} bytes each; load average "
                      f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
                targets = [b + "/fhir/$process-message" for b in bases]
                await load(targets, tokens, payloads[:args.warmup])
                spy = await profile(servers[0].pid, args.py_spy) if args.py_spy else None
                cpu_before = sum(cpu_seconds(p.pid) for p in servers)
                elapsed, lat, st = await load(targets, tokens, payloads[args.warmup:])
                cpu = sum(cpu_seconds(p.pid) for p in servers) - cpu_before
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    await spy.wait()
                guichet = summary("guichet $process-message", args.messages, elapsed, lat, st)
                print(f"  guichet process CPU: {cpu * 1000 / args.messages:.2f} ms per message "
                      f"({cpu / elapsed * 100:.0f}% of one core)", flush=True)
                bare_url = f"http://127.0.0.1:{bare_port}/fhir/$process-message"
                await load([bare_url], tokens, payloads[:args.warmup])
                elapsed, lat, st = await load([bare_url], tokens, payloads[args.warmup:])
                baseline = summary("bare aiohttp endpoint (same body)", args.messages, elapsed, lat, st)
                print(f"ratio guichet / bare aiohttp: {guichet / baseline:.3f} "
                      f"(the bare endpoint is {baseline / guichet:.1f}x faster)", flush=True)
            finally:
                for proc in (*servers, bare):
                    proc.terminate()
                    await proc.wait()
            counts = [Path(tmp) / f"sql-count-{port}" for port in ports]
            if all(c.exists() for c in counts):
                total = sum(int(c.read_text()) for c in counts)
                print(f"SQL statements per accepted message: {total / (args.messages + args.warmup):.1f} (whole "
                      f"server run: start-up, {args.clients} token requests, warm-up and audit chaining included)",
                      flush=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def profile(pid: int, out: str) -> asyncio.subprocess.Process:
    spy = Path(sys.executable).with_name("py-spy")
    proc = await asyncio.create_subprocess_exec(str(spy), "record", "--pid", str(pid), "--format", "raw",
                                                "--output", out, "--rate", "200",
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    await asyncio.sleep(1.0)
    return proc


def run() -> Any:
    return asyncio.run(main())


if __name__ == "__main__":
    run()
