"""Shared pieces of the SMTP tests (no tests here): a running guichet with a relay sink, an smtplib client."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from sqlalchemy import func, select

from connectors.smtp import connector
from connectors.smtp.sink import Sink
from hub.core import Hub
from hub.server import Server
from hub.store.models import Message, OutboxItem, Request, Thread

GP = "dr.dubois@medecins-demo.fr"  # a GP of the demo directory (RPPS 10000000074)


@dataclass
class Guichet:
    hub: Hub
    server: Server
    sink: Sink
    port: int

    @property
    def address(self) -> str:
        return self.hub.settings.address

    async def send(self, msg: EmailMessage | bytes, mail_from: str = GP,
                   rcpt: Sequence[str] | None = None) -> tuple[int, bytes]:
        """Send with smtplib (in a thread, as a GP's client would); return the DATA answer."""
        return await asyncio.to_thread(send_sync, self.port, msg, mail_from, list(rcpt or [self.address]))

    async def stop(self) -> None:
        await self.server.stop()
        await self.sink.stop()


def send_sync(port: int, msg: EmailMessage | bytes, mail_from: str, rcpt: list[str]) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("cabinet.example")
        code, text = client.mail(mail_from)
        assert code == 250, (code, text)
        for r in rcpt:
            code, text = client.rcpt(r)
            if code != 250:
                return code, text
        raw = msg.as_bytes() if isinstance(msg, EmailMessage) else msg
        try:
            return client.data(raw)
        except smtplib.SMTPDataError as exc:
            error = exc.smtp_error
            return exc.smtp_code, error if isinstance(error, bytes) else error.encode()


def rcpt_code(port: int, address: str, mail_from: str = GP) -> int:
    """The answer code of ``RCPT TO:<address>`` (blocking: call through ``asyncio.to_thread``)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("cabinet.example")
        client.mail(mail_from)
        return int(client.rcpt(address)[0])


async def start_guichet(hub: Hub, roles: Sequence[str] = ("smtp", "worker")) -> Guichet:
    sink = Sink()
    await sink.start()
    hub.settings = hub.settings.with_(smtp_relay=f"127.0.0.1:{sink.port}")
    server = Server(hub, [connector()], roles)
    await server.start()
    return Guichet(hub, server, sink, int(hub.services["smtp_port"]))


def gp_mail(body: str, subject: str = "Demande d'avis", sender: str = GP, to: str = "guichet@spsti-test.fr",
            **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Dr Hélène Dubois <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="medecins-demo.fr")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


async def count(hub: Hub, model: type, *where: Any) -> int:
    async with hub.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def only_request(hub: Hub) -> tuple[Request, Thread]:
    async with hub.db.session() as session:
        rows = (await session.execute(
            select(Request, Thread).join(Thread, Thread.id == Request.thread_id)
            .where(Request.source_key.like("email:%")))).all()
    assert len(rows) == 1, f"{len(rows)} email request(s)"
    return rows[0][0], rows[0][1]


async def payload(hub: Hub, request: Request) -> dict:
    async with hub.db.session() as session:
        data: dict = await hub.sealer.open_json(session, request.data_key_id, "requests", request.id, "payload",
                                                request.payload_enc)
    return data


async def message_bodies(hub: Hub, thread_id: str) -> list[tuple[Message, str]]:
    async with hub.db.session() as session:
        rows = (await session.execute(select(Message).where(Message.thread_id == thread_id)
                                      .order_by(Message.created_at))).scalars().all()
        return [(m, await hub.sealer.open_text(session, m.data_key_id, "messages", m.id, "body", m.body_enc))
                for m in rows]


async def outbox_rows(hub: Hub, purpose: str | None = None) -> list[OutboxItem]:
    async with hub.db.session() as session:
        query = select(OutboxItem)
        if purpose:
            query = query.where(OutboxItem.purpose == purpose)
        return list((await session.execute(query)).scalars().all())
