"""Crash safety of the intake: ``guichet serve --role smtp`` is killed (SIGKILL) while clients send 500 messages;
after a restart, every message that got its 250 is in the database (and clients' retries add no duplicates)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from sqlalchemy import text

from hub.store.db import Database

TOTAL, CONNECTIONS, KILL_AFTER = 500, 6, 150
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def message(i: int) -> tuple[EmailMessage, str]:
    msg = EmailMessage()
    sender = f"dr.gp{i % 7}@medecins-demo.fr"
    msg["From"], msg["To"] = sender, "guichet@spsti-crash.fr"
    msg["Subject"], msg["Message-ID"] = f"Demande {i}", f"<crash-{i}@medecins-demo.fr>"
    msg.set_content(f"Demande {i}. Employeur : Boulangerie du Port, SIRET 04423065100018.\n")
    key = "email:" + hashlib.sha256(f"{sender}|{msg['Message-ID']}".encode()).hexdigest()
    return msg, key


async def wait_port(port: int, seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise AssertionError("guichet did not start")


async def test_sigkill_during_500_messages_loses_nothing_acknowledged(
        tmp_path: Path, database: tuple[str, str | None]) -> None:
    url, schema = database
    port = free_port()
    env = dict(os.environ, GUICHET_HOME=str(tmp_path / "home"), GUICHET_KEYS_DIR=str(tmp_path / "keys"),
               GUICHET_DATABASE_URL=url, GUICHET_SMTP_PORT=str(port), GUICHET_HTTP_PORT="0",
               GUICHET_ADDRESS="guichet@spsti-crash.fr", GUICHET_CONFIG=str(tmp_path / "none.toml"))
    if schema:
        env["GUICHET_DATABASE_SCHEMA"] = schema
    await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "hub.cli", "init"], env=env, cwd=ROOT,
                            check=True, capture_output=True)

    def serve() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--role", "smtp"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    server = serve()
    acked: set[str] = set()
    refused_once = 0
    todo = list(range(TOTAL))
    killed, enough = asyncio.Event(), asyncio.Event()
    try:
        await wait_port(port)

        async def client() -> None:
            nonlocal refused_once
            smtp: aiosmtplib.SMTP | None = None
            while todo:
                i = todo.pop()
                msg, key = message(i)
                while True:  # like an MTA: what is not acknowledged is sent again
                    try:
                        if smtp is None:
                            smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30)
                            await smtp.connect()
                        await smtp.send_message(msg)
                        acked.add(key)
                        if len(acked) >= KILL_AFTER:
                            enough.set()
                        break
                    except (aiosmtplib.SMTPException, OSError):
                        refused_once += 1
                        if smtp is not None:
                            smtp.close()
                        smtp = None
                        await asyncio.sleep(0.2)
            if smtp is not None:
                await smtp.quit()

        async def killer() -> None:
            nonlocal server
            await enough.wait()
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
            killed.set()
            server = serve()
            await wait_port(port)

        await asyncio.gather(killer(), *(client() for _ in range(CONNECTIONS)))
        assert killed.is_set() and len(acked) == TOTAL
        assert refused_once > 0  # the kill really interrupted clients
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    db = Database(url, schema=schema)
    try:
        async with db.engine.connect() as conn:
            keys = set((await conn.execute(text(
                "SELECT source_key FROM requests WHERE source_key LIKE 'email:%'"))).scalars())
            messages = (await conn.execute(text("SELECT count(*) FROM messages WHERE channel = 'email'"))).scalar()
    finally:
        await db.dispose()
    assert acked <= keys  # every 250 is in the database
    assert len(keys) == TOTAL and messages == TOTAL  # and resending after the crash made no duplicate
