"""Benchmark: the public forms over real HTTP (the forms connector in the real server, demo directory loaded).

Measures, with an aiohttp client on the same machine:
  - GET /saisine-pdp (template rendering, CSRF token and cookie);
  - POST /saisine-pdp, a valid PDP referral as multipart (CSRF check, parsing, legal rules, then ``hub.intake``:
    routing, encryption, audit, outbox rows, and the confirmation email queued in a second transaction);
and, in the same run, baselines: a bare aiohttp app serving the same HTML bytes (GET) and answering a POST after
reading the same multipart body (``request.post()``), and ``hub.intake.submit`` called directly with the same
drafts (what storing costs without the forms), as ratios. Usage:

    .venv/bin/python bench/forms_bench.py [--gets 1000] [--posts 300] [--concurrency 8] [--database-url URL]

The rate limits are raised for the run (they would stop one client address after 10 submissions an hour).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web

from connectors.forms import connector
from connectors.forms.fields import PDP, build_draft
from connectors.forms.views import today_paris
from hub.audit import Actor
from hub.config import load_settings
from hub.core import Hub
from hub.crypto.keystore import KeyStore
from hub.demo import load_demo
from hub.server import Server
from hub.store.migrate import upgrade
from hub.store.sqlcount import StatementCounter

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _db import scratch_database  # noqa: E402

from tests.forms_helpers import form_data, pdp_worker  # noqa: E402


async def timed(n: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> tuple[float, list[float]]:
    """Run ``one(i)`` for i < n with ``concurrency`` workers; return (seconds, per-call latencies)."""
    latencies: list[float] = []
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            start = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies


def line(label: str, n: int, seconds: float, latencies: list[float]) -> float:
    q = statistics.quantiles(latencies, n=100)
    rate = n / seconds
    print(f"{label:<42} {rate:8.1f} req/s   p50 {q[49] * 1000:7.1f} ms   p95 {q[94] * 1000:7.1f} ms")
    return rate


async def baseline_app(page: str) -> tuple[web.AppRunner, str]:
    async def get(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    async def post(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text="<p>ok</p>", content_type="text/html")

    app = web.Application(client_max_size=32 * 1024 * 1024)
    app.router.add_get("/form", get)
    app.router.add_post("/form", post)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/form"


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with scratch_database(args.database_url, folder) as (url, schema):
            settings = load_settings({"GUICHET_HOME": str(folder / "home"), "GUICHET_KEYS_DIR": str(folder / "keys"),
                                      "GUICHET_HTTP_PORT": "0", "GUICHET_CONFIG": str(folder / "none.toml")})
            settings = settings.with_(database_url=url, database_schema=schema, extra={
                "forms_submissions_per_hour": 10**9, "forms_posts_per_hour": 10**9})
            KeyStore(settings.keys_dir).initialise()
            hub = Hub.open(settings)
            await upgrade(hub.db)
            await load_demo(hub)
            counter = StatementCounter(hub.db.engine)
            server = Server(hub, [connector()], ("api",))
            await server.start()
            form_url = f"http://127.0.0.1:{server.http_port}/saisine-pdp"
            print(f"database: {'PostgreSQL' if hub.db.is_postgres else 'SQLite'}; concurrency {args.concurrency}")
            try:
                async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                    async with http.get(form_url) as resp:
                        page = await resp.text()
                    token = page.split('name="csrf" value="')[1].split('"')[0]

                    async def get_form(_: int) -> None:
                        async with http.get(form_url) as resp:
                            assert resp.status == 200
                            await resp.read()

                    async def post_form(i: int) -> None:
                        body = {"csrf": token, "envoi": str(uuid.uuid4()), **pdp_worker(job=f"Poste {i}")}
                        async with http.post(form_url, data=form_data(body)) as resp:
                            assert resp.status == 200, await resp.text()
                            await resp.read()

                    runner, base_url = await baseline_app(page)
                    try:
                        async def base_get(_: int) -> None:
                            async with http.get(base_url) as resp:
                                await resp.read()

                        async def base_post(i: int) -> None:
                            body = {"csrf": token, "envoi": str(uuid.uuid4()), **pdp_worker(job=f"Poste {i}")}
                            async with http.post(base_url, data=form_data(body)) as resp:
                                await resp.read()

                        await timed(50, args.concurrency, get_form)  # warm-up
                        await timed(50, args.concurrency, base_get)
                        g = line("GET /saisine-pdp (forms connector)", args.gets,
                                 *await timed(args.gets, args.concurrency, get_form))
                        bg = line("GET same HTML (bare aiohttp baseline)", args.gets,
                                  *await timed(args.gets, args.concurrency, base_get))
                        before = counter.count
                        p = line("POST /saisine-pdp → stored request", args.posts,
                                 *await timed(args.posts, args.concurrency, post_form))
                        post_sql = (counter.count - before) / args.posts
                        bp = line("POST same body (bare aiohttp, parse only)", args.posts,
                                  *await timed(args.posts, args.concurrency, base_post))
                        drafts = [build_draft(PDP, pdp_worker(job=f"Direct {i}"), [], today_paris(),
                                              str(uuid.uuid4()))[0] for i in range(args.posts)]

                        async def direct(i: int) -> None:
                            draft = drafts[i]
                            assert draft is not None
                            await hub.intake.submit(draft, Actor("bench"))

                        before = counter.count
                        d = line("hub.intake.submit alone (no HTTP, no email)", args.posts,
                                 *await timed(args.posts, args.concurrency, direct))
                        direct_sql = (counter.count - before) / args.posts
                    finally:
                        await runner.cleanup()
                print(f"SQL statements per accepted request: form POST {post_sql:.1f}, intake alone {direct_sql:.1f} "
                      "(audit chaining after commit included)")
                print(f"ratio GET  forms/baseline: {g / bg:.2f}")
                print(f"ratio POST forms/baseline: {p / bp:.3f}  (the form stores, routes, encrypts and audits; "
                      "the baseline only parses)")
                print(f"ratio POST forms/intake alone: {p / d:.2f}  (what the HTTP layer, checks and the "
                      "confirmation transaction add over storing the request)")
            finally:
                await server.stop()
                await hub.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gets", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    asyncio.run(main(parser.parse_args()))
