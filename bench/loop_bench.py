"""Benchmark: is the event loop ever blocked by one input? ``/healthz`` polled every 20 ms, idle and under load.

A real ``guichet serve --role api,smtp`` process receives, again and again: a 25 MB email of thousands of tiny
MIME parts (refused by the shape check), a 24 MB email of a few hundred large parts (parsed in full), a 10 MB
FHIR Bundle of thousands of entries (refused on its entry count) and a 9 MB Bundle of a few entries with one huge
text (validated in full). Meanwhile another client polls ``/healthz`` every 20 ms. Printed: p50/p99/max latency of
those polls on the idle server and under that load, and the ratios. Aim: max under 100 ms.

    .venv/bin/python bench/loop_bench.py [--seconds 20] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import smtplib
import statistics
import sys
import tempfile
import time
import uuid
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _db import scratch_database  # noqa: E402
from fhir_bench import free_port, prepare, wait_ready  # noqa: E402

from tests.fhir_support import example, get_token  # noqa: E402

ADDRESS = "guichet@spsti-bench.fr"


def tiny_parts_mail(megabytes: int = 25) -> bytes:
    msg = MIMEMultipart()
    msg["From"], msg["To"], msg["Subject"] = "gp@medecins-bench.fr", ADDRESS, "Beaucoup de parties"
    chunk = "x" * 1000
    for i in range(megabytes * 1024 * 1024 // 1200):
        msg.attach(MIMEText(f"{i} {chunk}"))
    return msg.as_bytes(policy=SMTP)


def large_parts_mail(megabytes: int = 24, parts: int = 300) -> bytes:
    msg = MIMEMultipart()
    msg["From"], msg["To"], msg["Subject"] = "gp@medecins-bench.fr", ADDRESS, "Grosses pieces jointes"
    msg.attach(MIMEText("Bonjour, voici les comptes rendus. SIRET 044 230 651 00018."))
    size = megabytes * 1024 * 1024 * 3 // 4 // parts  # base64 grows by 4/3
    for i in range(parts):
        msg.attach(MIMEApplication(os.urandom(size), "pdf", Name=f"cr-{i}.pdf"))
    return msg.as_bytes(policy=SMTP)


def many_entries_bundle(megabytes: float = 9.5) -> bytes:
    bundle = example("pdp-referral", header_id=uuid.uuid4().hex)
    filler = {"fullUrl": "", "resource": {"resourceType": "Basic", "code": {"text": "x" * 200}}}
    entries, size = bundle["entry"], len(json.dumps(bundle))
    while size < megabytes * 1024 * 1024:
        entry = json.loads(json.dumps(filler))
        entry["fullUrl"] = f"urn:uuid:{uuid.uuid4()}"
        entries.append(entry)
        size += 330
    return json.dumps(bundle).encode()


def huge_text_bundle(megabytes: float = 9.0) -> bytes:
    bundle = example("coordination-request", header_id=uuid.uuid4().hex)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Communication":
            resource["payload"] = [{"contentString": "Texte du courrier. " * int(megabytes * 1024 * 1024 / 19)}]
    return json.dumps(bundle).encode()


def send_mail(port: int, raw: bytes) -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=300) as smtp:
        code, _ = smtp.ehlo()
        try:
            smtp.sendmail("gp@medecins-bench.fr", [ADDRESS], raw)
        except smtplib.SMTPDataError as exc:
            return int(exc.smtp_code)
        except smtplib.SMTPResponseException as exc:
            return int(exc.smtp_code)
    return 250


async def poll(http: aiohttp.ClientSession, url: str, stop: asyncio.Event) -> list[float]:
    latencies: list[float] = []
    while not stop.is_set():
        started = time.perf_counter()
        async with http.get(url) as r:
            await r.read()
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(max(0.0, 0.020 - (time.perf_counter() - started)))
    return latencies


def stats(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100)
    return cuts[49] * 1000, cuts[98] * 1000, max(values) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the loaded phase")
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--only", help="run only the payloads whose name contains this text")
    args = parser.parse_args()
    makers = {"mail 25 MB, tiny parts": tiny_parts_mail, "mail 24 MB, 300 large parts": large_parts_mail,
              "Bundle 9.5 MB, many entries": many_entries_bundle, "Bundle 9 MB, huge text": huge_text_bundle}
    payloads = {name: make() for name, make in makers.items() if not args.only or args.only in name}
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(args.database_url, Path(tmp)) as (url, schema):
            env, clients = await prepare(Path(tmp) / "home", url, schema, 1)
            http_port, smtp_port = free_port(), free_port()
            env = {**os.environ, **env, "GUICHET_HTTP_PORT": str(http_port), "GUICHET_SMTP_PORT": str(smtp_port),
                   "GUICHET_ADDRESS": ADDRESS, "GUICHET_SMTP_MAX_SIZE": str(40 * 1024 * 1024)}
            server = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hub.cli", "serve", "--role", "api,smtp", env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            base = f"http://127.0.0.1:{http_port}"
            try:
                await wait_ready(base + "/healthz")
                async with aiohttp.ClientSession() as http:
                    token = await get_token(http, base, clients[0])
                    stop = asyncio.Event()
                    poller = asyncio.create_task(poll(http, base + "/healthz", stop))
                    await asyncio.sleep(args.idle_seconds)
                    stop.set()
                    idle = await poller
                    outcomes: dict[str, list[int]] = {name: [] for name in payloads}

                    async def hammer(name: str, body: bytes, until: float) -> None:
                        while time.monotonic() < until:
                            if name.startswith("mail"):
                                code = await asyncio.to_thread(send_mail, smtp_port, body)
                            else:
                                async with http.post(base + "/fhir/$process-message", data=body, headers={
                                        "Authorization": f"Bearer {token}",
                                        "Content-Type": "application/fhir+json"}) as r:
                                    await r.read()
                                    code = r.status
                            outcomes[name].append(code)

                    stop = asyncio.Event()
                    poller = asyncio.create_task(poll(http, base + "/healthz", stop))
                    until = time.monotonic() + args.seconds
                    await asyncio.gather(*(hammer(n, b, until) for n, b in payloads.items()))
                    stop.set()
                    loaded = await poller
            finally:
                server.terminate()
                await server.wait()
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"backend {backend}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, codes in outcomes.items():
        print(f"  {name:<30} {len(codes):3d} submitted, answers {dict(sorted(_count(codes).items()))}")
    i50, i99, imax = stats(idle)
    l50, l99, lmax = stats(loaded)
    print(f"/healthz every 20 ms, idle   ({len(idle):4d} polls): p50 {i50:7.1f} ms  p99 {i99:7.1f} ms  "
          f"max {imax:7.1f} ms")
    print(f"/healthz every 20 ms, loaded ({len(loaded):4d} polls): p50 {l50:7.1f} ms  p99 {l99:7.1f} ms  "
          f"max {lmax:7.1f} ms")
    print(f"ratio loaded / idle: p50 {l50 / i50:.1f}x  p99 {l99 / i99:.1f}x  max {lmax / imax:.1f}x; "
          f"aim max < 100 ms: {'met' if lmax < 100 else 'NOT met'}")


def _count(codes: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for code in codes:
        out[code] = out.get(code, 0) + 1
    return out


def run() -> Any:
    return asyncio.run(main())


if __name__ == "__main__":
    run()
