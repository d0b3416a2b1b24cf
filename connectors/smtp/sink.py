"""A bare aiosmtpd sink: accepts every message at once and keeps it in memory.

Used as the relay in tests and demos (``python -m connectors.smtp.sink 2526`` prints what arrives) and as the
baseline of ``bench/smtp_bench.py``. Not part of the service.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    tls: bool

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class SinkHandler:
    messages: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    answer: str = "250 2.0.0 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.answer.startswith("250"):
            self.messages.append(Received(envelope.mail_from or "", list(envelope.rcpt_tos),
                                          envelope.original_content or b"", session.ssl is not None))
            self.arrived.set()
        return self.answer


class Sink:
    """``await Sink().start()`` listens on 127.0.0.1 (ephemeral port by default)."""

    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        self.handler = SinkHandler()
        self.tls_context = tls_context
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self.handler, hostname="sink.test", tls_context=self.tls_context, loop=loop),
            host=host, port=port)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self.port

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:  # noqa: ASYNC109
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.messages) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"sink got {len(self.messages)} message(s), expected {count}")
            self.handler.arrived.clear()
            try:
                await asyncio.wait_for(self.handler.arrived.wait(), timeout=min(remaining, 0.2))
            except TimeoutError:
                pass
        return self.messages

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


class _Discard(list[Received]):
    def append(self, item: Received) -> None:
        """Forget it."""


async def _main(port: int, echo: bool = True) -> None:
    sink = Sink()
    await sink.start(port=port)
    print(f"sink on 127.0.0.1:{sink.port}", flush=True)
    if not echo:  # a baseline for benchmarks: keep nothing, print nothing more
        sink.handler.messages = _Discard()
        await asyncio.Event().wait()
    seen = 0
    while True:
        await sink.wait_for(seen + 1, timeout=10**9)
        for item in sink.messages[seen:]:
            print(item.raw.decode("utf-8", "replace"), flush=True)
        seen = len(sink.messages)


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1]) if len(sys.argv) > 1 else 2526))
