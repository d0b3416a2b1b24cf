"""MSSanté reading benchmark: messages per second taken from a real Dovecot (IMAPS, client certificate) into
committed, routed, encrypted requests by the connector's reader.

In the same run, the baseline: the same IMAP session code fetching and flagging the same number of messages
without handing them to the hub; and the ratio. Needs root (Dovecot runs as ``nobody``) and ``dovecot-imapd``.

    .venv/bin/python bench/mssante_bench.py                       # SQLite
    .venv/bin/python bench/mssante_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.mssante.config import MssanteConfig  # noqa: E402
from connectors.mssante.imap import ImapSession  # noqa: E402
from connectors.mssante.inbound import Inbound  # noqa: E402
from connectors.mssante.reader import Reader  # noqa: E402
from hub.config import load_settings  # noqa: E402
from hub.core import Hub  # noqa: E402
from hub.crypto.keystore import KeyStore  # noqa: E402
from hub.store.migrate import upgrade  # noqa: E402
from tests.mssante_dovecot import Dovecot  # noqa: E402
from tests.mssante_pki import Pki  # noqa: E402
from tests.mssante_support import PDF, gp_message, mss_settings  # noqa: E402

BODY = ("Bonjour,\nje vous adresse M. Yannick KERBRAT, né le 14/03/1978, en arrêt depuis le 02/01/2026, "
        "Boulangerie du Port à Nantes, SIRET 044 230 651 00018. Visite de pré-reprise souhaitée.\n"
        "Dr Hélène Dubois, RPPS 10000000074\n") + "Ligne de contexte clinique.\n" * 30


async def with_hub(tmp: Path, database_url: str | None, schema: str | None) -> Hub:
    env = {"GUICHET_HOME": str(tmp / "home"), "GUICHET_KEYS_DIR": str(tmp / "keys"),
           "GUICHET_CONFIG": str(tmp / "none.toml"), "GUICHET_ADDRESS": "guichet@spsti-bench.fr"}
    if database_url:
        env["GUICHET_DATABASE_URL"] = database_url
    if schema:
        env["GUICHET_DATABASE_SCHEMA"] = schema
    settings = load_settings(env)
    settings.home.mkdir(parents=True, exist_ok=True)
    KeyStore(settings.keys_dir).initialise()
    hub = Hub.open(settings)
    await upgrade(hub.db)
    return hub


def fill(dovecot: Dovecot, count: int) -> None:
    for i in range(count):
        dovecot.deliver(gp_message(BODY, subject=f"Demande {i}", attachments=[("cr.pdf", "application/pdf", PDF)]))


async def reader_rate(hub: Hub, config: MssanteConfig, count: int) -> float:
    mailbox = hub.mailbox
    reader = Reader(Inbound(hub, config, mailbox), config, mailbox, f"bench-{uuid.uuid4().hex[:6]}")
    start = time.perf_counter()
    task = asyncio.create_task(reader.run())
    while reader.handled < count:  # noqa: ASYNC110 - the reader exposes a counter, not an event
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    reader.stop()
    await task
    return count / elapsed


async def baseline_rate(config: MssanteConfig, count: int) -> float:
    start = time.perf_counter()
    session = await ImapSession.open(config, config.tls_context())
    try:
        done = 0
        for uid in await session.pending():
            if await session.fetch(uid) is not None:
                await session.mark_processed(uid)
                done += 1
    finally:
        await session.close()
    assert done == count, f"{done} of {count}"
    return count / (time.perf_counter() - start)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary data dir")
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:8]}" if args.database_url else None
    if args.database_url and schema:
        from bench.smtp_bench import pg_schema

        await pg_schema(args.database_url, True, schema)
    reader_rates, bare_rates = [], []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pki = Pki(tmp / "pki")
        hub = await with_hub(tmp, args.database_url, schema)
        try:
            for _ in range(args.rounds):  # alternate, so that a noisy neighbour hurts both alike
                for measure in ("reader", "bare"):
                    dovecot = await asyncio.to_thread(Dovecot(pki).start)
                    try:
                        await asyncio.to_thread(fill, dovecot, args.messages)
                        settings = mss_settings(hub.settings, pki, dovecot, 1, poll="0.2", timeout="30")
                        config = MssanteConfig.from_settings(settings)
                        assert config is not None
                        if measure == "reader":
                            reader_rates.append(await reader_rate(hub, config, args.messages))
                        else:
                            bare_rates.append(await baseline_rate(config, args.messages))
                    finally:
                        await asyncio.to_thread(dovecot.stop)
        finally:
            await hub.close()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    rate, bare = statistics.median(reader_rates), statistics.median(bare_rates)
    size = len(gp_message(BODY, attachments=[("cr.pdf", "application/pdf", PDF)]))
    print(f"backend: {backend}; {args.rounds} rounds of {args.messages} messages ({size} bytes, one PDF); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("reader (fetch, parse, intake commit, flag): " + ", ".join(f"{r:.0f}" for r in reader_rates)
          + f" msg/s; median {rate:.0f} msg/s")
    print("bare IMAP (fetch, flag):                    " + ", ".join(f"{r:.0f}" for r in bare_rates)
          + f" msg/s; median {bare:.0f} msg/s")
    print(f"ratio reader / bare (medians): {rate / bare:.2f}")
    if args.database_url and schema:
        from bench.smtp_bench import pg_schema

        await pg_schema(args.database_url, False, schema)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
