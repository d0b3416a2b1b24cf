"""SMTP intake benchmark: messages per second accepted (250 received) over 8 concurrent SMTP connections.

In the same run, the same client against a bare aiosmtpd sink (a handler that answers 250 at once), and the
ratio. Both servers run as their own process (``guichet serve --role smtp`` with a fresh data dir and keys, and
``python -m connectors.smtp.sink``), the client in this one, so the figures are the servers'.

    .venv/bin/python bench/smtp_bench.py                       # SQLite
    .venv/bin/python bench/smtp_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BODY = ("Bonjour chère consœur,\n\nJe vous adresse M. Yannick KERBRAT, né le 14/03/1978, en arrêt depuis le "
        "02/01/2026. Il travaille chez Boulangerie du Port à Nantes, SIRET 044 230 651 00018.\n"
        "Avec son accord, je souhaite une visite de pré-reprise.\n\nBien confraternellement,\n"
        "Dr Hélène Dubois\nRPPS 10000000074\n") + "Ligne de contexte clinique.\n" * 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def message(i: int, address: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Dr Hélène Dubois <dr.dubois@medecins-demo.fr>"
    msg["To"] = address
    msg["Subject"] = f"Demande n° {i}"
    msg["Message-ID"] = make_msgid(domain="medecins-demo.fr")
    msg.set_content(BODY)
    return msg


async def wait_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


async def run_client(port: int, total: int, connections: int, address: str) -> tuple[int, float]:
    """Send ``total`` messages over ``connections`` SMTP sessions; return (250 count, seconds)."""
    counter = iter(range(total))
    accepted = 0

    async def one_connection() -> None:
        nonlocal accepted
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=120,
                                 local_hostname="cabinet.example")
        await client.connect()
        for i in counter:
            errors, answer = await client.send_message(message(i, address))
            if answer.startswith("OK") or not errors:
                accepted += 1
        await client.quit()

    start = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return accepted, time.perf_counter() - start


def guichet_env(home: Path, port: int, database_url: str | None, schema: str | None) -> dict[str, str]:
    env = dict(os.environ, GUICHET_HOME=str(home), GUICHET_KEYS_DIR=str(home / "keys"),
               GUICHET_SMTP_PORT=str(port), GUICHET_HTTP_PORT="0", GUICHET_ADDRESS="guichet@spsti-bench.fr",
               GUICHET_CONFIG=str(home / "none.toml"))
    if database_url:
        env["GUICHET_DATABASE_URL"] = database_url
    if schema:
        env["GUICHET_DATABASE_SCHEMA"] = schema
    return env


async def pg_schema(url: str, create: bool, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"' if create else f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary data dir")
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:8]}" if args.database_url else None
    if args.database_url and schema:
        await pg_schema(args.database_url, True, schema)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        port = free_port()
        env = guichet_env(home, port, args.database_url, schema)
        env["GUICHET_SQL_COUNT_FILE"] = str(home / "sql-count")
        # setup before anything is measured: blocking calls are fine here
        subprocess.run([PYTHON, "-m", "hub.cli", "init"], env=env, cwd=ROOT,  # noqa: ASYNC221
                       check=True, capture_output=True)
        subprocess.run([PYTHON, "-m", "hub.cli", "directory", "import",  # noqa: ASYNC221
                        str(ROOT / "schemas" / "directory")], env=env, cwd=ROOT, check=True, capture_output=True)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            guichet = subprocess.Popen([PYTHON, "-m", "hub.cli", "serve", "--role", "smtp"],  # noqa: ASYNC220
                                       env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(guichet)
            sink = subprocess.Popen([PYTHON, "-c",  # noqa: ASYNC220
                                     "import asyncio, connectors.smtp.sink as s; asyncio.run(s._main(0, echo=False))"],
                                    cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            procs.append(sink)
            assert sink.stdout is not None
            first_line = await asyncio.to_thread(sink.stdout.readline)  # "sink on 127.0.0.1:PORT"
            sink_port = int(first_line.decode().rsplit(":", 1)[1])
            await wait_port(port, guichet)
            await wait_port(sink_port, sink)
            await run_client(port, 50, args.connections, "guichet@spsti-bench.fr")  # warm-up
            await run_client(sink_port, 50, args.connections, "guichet@spsti-bench.fr")
            intake_rates, sink_rates = [], []
            for _ in range(args.rounds):  # alternate, so that a noisy neighbour hurts both alike
                got, secs = await run_client(port, args.messages, args.connections, "guichet@spsti-bench.fr")
                assert got == args.messages, f"only {got} of {args.messages} accepted by the guichet"
                intake_rates.append(got / secs)
                bare, bare_secs = await run_client(sink_port, args.messages, args.connections,
                                                   "guichet@spsti-bench.fr")
                sink_rates.append(bare / bare_secs)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
        counted = home / "sql-count"
        accepted = 50 + args.rounds * args.messages
        sql = int(counted.read_text()) / accepted if counted.exists() else float("nan")
        backend = "PostgreSQL" if args.database_url else "SQLite"
        rate, bare_rate = statistics.median(intake_rates), statistics.median(sink_rates)
        print(f"backend: {backend}; {args.rounds} rounds of {args.messages} messages "
              f"({len(message(0, 'x').as_bytes())} bytes) over {args.connections} connections; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print("guichet intake (250 after commit): " + ", ".join(f"{r:.0f}" for r in intake_rates)
              + f" msg/s; median {rate:.0f} msg/s")
        print("bare aiosmtpd sink (250 at once):  " + ", ".join(f"{r:.0f}" for r in sink_rates)
              + f" msg/s; median {bare_rate:.0f} msg/s")
        print(f"SQL statements per accepted message: {sql:.1f} (whole server run: warm-up, start-up and audit "
              "chaining included)")
        print(f"ratio intake / sink (medians): {rate / bare_rate:.2f}")
    if args.database_url and schema:
        await pg_schema(args.database_url, False, schema)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
