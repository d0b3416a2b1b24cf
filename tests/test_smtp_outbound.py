"""Outbound email: the aiosmtplib transport (STARTTLS when the relay offers it, errors translated for the outbox),
retries and dead letters in the outbox, and the administrator's ``guichet outbox`` commands."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from connectors.smtp.sink import Sink
from connectors.smtp.transport import EmailTransport
from hub.core import Hub
from hub.outbox import OutboundEmail, OutboxWorker, PermanentDeliveryError, TransientDeliveryError
from hub.store.models import OutboxItem, utcnow
from hub.tls import client_context, server_context
from tests.certs import self_signed
from tests.conftest import cli_env
from tests.test_smtp_support import outbox_rows

PAYLOAD: dict[str, Any] = {
    "to": ["dr.dubois@medecins-demo.fr"], "subject": "[GU-TEST-0001] Réponse du médecin du travail",
    "text": "Bonjour, je le reçois mardi.\n", "from_addr": "guichet@spsti-test.fr",
    "headers": {"Reply-To": "guichet+abc@spsti-test.fr", "Message-ID": "<m1@spsti-test.fr>",
                "In-Reply-To": "<gp1@medecins-demo.fr>", "References": "<gp1@medecins-demo.fr>"},
    "attachments": []}


def _worker(hub: Hub) -> OutboxWorker:
    return OutboxWorker(hub.db, hub.outbox, {"email": EmailTransport(hub.settings)}, hub.settings.outbox_max_attempts)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_delivery_uses_starttls_when_the_relay_offers_it(hub: Hub, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    sink = Sink(tls_context=server_context(cert, key))
    await sink.start(host="127.0.0.1")
    try:
        settings = hub.settings.with_(smtp_relay=f"localhost:{sink.port}")
        await EmailTransport(settings, tls_context=client_context(cafile=cert)).deliver(PAYLOAD)
        [got] = sink.messages
        assert got.tls and got.mail_from == "guichet@spsti-test.fr" and got.rcpt_tos == PAYLOAD["to"]
        msg = got.message
        assert msg["Message-ID"] == "<m1@spsti-test.fr>" and msg["Reply-To"] == "guichet+abc@spsti-test.fr"
        assert msg["In-Reply-To"] == msg["References"] == "<gp1@medecins-demo.fr>"
        assert msg["From"] == "guichet@spsti-test.fr" and msg["Date"] and "Réponse" in msg["Subject"]
        assert msg.get_content().replace("\r\n", "\n") == PAYLOAD["text"]
        # a relay that does not verify against our CA is refused: no silent downgrade to an unverified channel
        with pytest.raises(TransientDeliveryError):
            await EmailTransport(settings, tls_context=client_context()).deliver(PAYLOAD)
    finally:
        await sink.stop()


async def test_plain_relay_and_error_translation(hub: Hub) -> None:
    sink = Sink()
    await sink.start()
    try:
        transport = EmailTransport(hub.settings.with_(smtp_relay=f"127.0.0.1:{sink.port}"))
        await transport.deliver(dict(PAYLOAD, headers={}))
        assert not sink.messages[0].tls and sink.messages[0].message["Message-ID"].endswith("@spsti-test.fr>")
        sink.handler.answer = "451 4.3.0 Try again later"
        with pytest.raises(TransientDeliveryError, match="451"):
            await transport.deliver(PAYLOAD)
        sink.handler.answer = "554 5.7.1 Rejected"
        with pytest.raises(PermanentDeliveryError, match="554"):
            await transport.deliver(PAYLOAD)
        with pytest.raises(TransientDeliveryError, match="unreachable"):
            await EmailTransport(hub.settings.with_(smtp_relay=f"127.0.0.1:{closed_port()}")).deliver(PAYLOAD)
    finally:
        await sink.stop()


async def guichet_cli(hub: Hub, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "hub.cli", *args, env=cli_env(hub.settings),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return int(proc.returncode or 0), out.decode()


async def test_relay_down_retries_then_dead_letter_visible_and_retryable(hub: Hub) -> None:
    hub.settings = hub.settings.with_(outbox_max_attempts=2, smtp_relay=f"127.0.0.1:{closed_port()}")
    async with hub.db.session() as session, session.begin():
        row_id = hub.outbox.enqueue_email(session, "reply", OutboundEmail(**PAYLOAD))
    worker = _worker(hub)
    assert await worker.run_once() == 1
    [row] = await outbox_rows(hub)
    assert row.status == "pending" and row.attempts == 1 and "unreachable" in (row.last_error or "")
    assert row.next_attempt_at > utcnow()  # backoff
    assert await worker.run_once() == 0  # not due yet
    async with hub.db.session() as session, session.begin():
        await session.execute(update(OutboxItem).values(next_attempt_at=utcnow()))
    await worker.run_once()
    [row] = await outbox_rows(hub)
    assert row.status == "dead" and row.attempts == 2

    code, out = await guichet_cli(hub, "outbox", "list", "--dead")
    assert code == 0 and row_id in out and "dead" in out and "unreachable" in out
    assert "reçois mardi" not in out  # no content in the listing
    code, out = await guichet_cli(hub, "outbox", "retry", "nope")
    assert code != 0 and "aucun envoi en échec" in out
    code, out = await guichet_cli(hub, "outbox", "retry", row_id)
    assert code == 0 and "1 envoi(s) remis" in out

    sink = Sink()
    await sink.start()
    try:
        hub.settings = hub.settings.with_(smtp_relay=f"127.0.0.1:{sink.port}")
        assert await _worker(hub).run_once() == 1
        [row] = await outbox_rows(hub)
        assert row.status == "sent" and len(sink.messages) == 1
        code, out = await guichet_cli(hub, "outbox", "list", "--dead")
        assert code == 0 and "Aucun envoi en échec" in out
    finally:
        await sink.stop()


async def test_permanent_refusal_goes_to_dead_letter_at_once(hub: Hub) -> None:
    sink = Sink()
    sink.handler.answer = "550 5.1.1 Unknown user"
    await sink.start()
    try:
        hub.settings = hub.settings.with_(smtp_relay=f"127.0.0.1:{sink.port}")
        async with hub.db.session() as session, session.begin():
            hub.outbox.enqueue_email(session, "ack", OutboundEmail(**PAYLOAD))
        await _worker(hub).run_once()
        [row] = await outbox_rows(hub)
        assert row.status == "dead" and row.attempts == 1 and "550" in (row.last_error or "")
    finally:
        await sink.stop()
