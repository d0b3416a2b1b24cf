"""One IMAP session with the operator (aioimaplib), its errors translated at this edge into ``ImapError``.

Contract:
- ``await ImapSession.open(config, tls_context)``: connects (implicit TLS, or STARTTLS on the plain port),
  authenticates (SASL EXTERNAL from the client certificate, or LOGIN) and selects the mailbox. Any failure —
  refused connection, TLS handshake (a certificate refused on either side), authentication, timeout, connection
  lost — raises ``ImapError`` with a message that never holds message content.
- ``pending()``: UIDs not yet flagged ``$GuichetTraite`` (the processed mark); ``fetch(uid)``: the raw message
  (``BODY.PEEK[]``: reading does not set ``\\Seen``); ``mark_processed(uid)``: ``+FLAGS ($GuichetTraite \\Seen)``.
- ``wait_for_news(seconds)``: IDLE until the server announces something or ``seconds`` pass (polling when the
  server has no IDLE); returns ``True`` when something was announced.
- ``close()``: LOGOUT, never raises.
aioimaplib logs every byte at DEBUG: its logger is held at WARNING here (messages are health data).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable
from typing import Any, TypeVar

import aioimaplib

from connectors.mssante.config import MssanteConfig

logging.getLogger("aioimaplib").setLevel(logging.WARNING)
logging.getLogger("aioimaplib.aioimaplib").setLevel(logging.WARNING)
log = logging.getLogger(__name__)
PROCESSED = "$GuichetTraite"
T = TypeVar("T")


class ImapError(Exception):
    """The mailbox cannot be read now (the reader retries later)."""


class ImapSession:
    def __init__(self, config: MssanteConfig, client: aioimaplib.IMAP4, lost: asyncio.Event) -> None:
        self.config = config
        self.client = client
        self.lost = lost

    @classmethod
    async def open(cls, config: MssanteConfig, tls_context: ssl.SSLContext) -> ImapSession:
        lost = asyncio.Event()
        host, port = config.imap
        implicit = config.tls_mode == "implicit"
        try:
            client = aioimaplib.IMAP4(host=host, port=port, timeout=config.timeout,
                                      conn_lost_cb=lambda _exc: lost.set(),
                                      ssl_context=tls_context if implicit else None)
        except OSError as exc:
            raise ImapError(f"connexion IMAP impossible : {exc}") from exc
        session = cls(config, client, lost)
        try:
            await session._call(client.wait_hello_from_server(), "accueil du serveur")
            if not implicit:
                await session._starttls(tls_context, host)
            await session._authenticate()
            await session._ok(client.select(config.mailbox), f"sélection de {config.mailbox}")
        except BaseException:
            await session.close()
            raise
        return session

    async def _call(self, awaitable: Awaitable[T], what: str) -> T:
        """Await ``awaitable``, or fail at once when the connection is lost (aioimaplib would wait its timeout)."""
        task = asyncio.ensure_future(awaitable)
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            done, _ = await asyncio.wait({task, lost}, timeout=self.config.timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if task not in done:
            task.cancel()
            reason = "connexion perdue" if self.lost.is_set() else "délai dépassé"
            raise ImapError(f"IMAP, {what} : {reason}")
        try:
            return task.result()
        except ssl.SSLError as exc:
            raise ImapError(f"IMAP, {what} : TLS refusé ({exc.reason or exc})") from exc
        except (OSError, TimeoutError, aioimaplib.AioImapException) as exc:
            raise ImapError(f"IMAP, {what} : {type(exc).__name__}: {exc}") from exc

    async def _ok(self, awaitable: Awaitable[Any], what: str) -> Any:
        response = await self._call(awaitable, what)
        if response.result != "OK":
            raise ImapError(f"IMAP, {what} : le serveur a répondu {response.result}")
        return response

    async def _starttls(self, tls_context: ssl.SSLContext, host: str) -> None:
        protocol = self.client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ImapError("IMAP : le serveur ne propose pas STARTTLS")
        await self._ok(protocol.execute(aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)),
                       "STARTTLS")
        loop = asyncio.get_running_loop()
        transport = await self._call(loop.start_tls(protocol.transport, protocol, tls_context,
                                                    server_hostname=host), "négociation TLS")
        protocol.transport = transport
        await self._call(protocol.capability(), "capacités")

    async def _authenticate(self) -> None:
        protocol = self.client.protocol
        if self.config.auth == "login":
            assert self.config.login is not None and self.config.password is not None
            await self._ok(self.client.login(self.config.login, self.config.password), "authentification LOGIN")
            return
        # SASL EXTERNAL (RFC 4422) with an empty initial response (RFC 4959): the identity is the certificate's
        command = aioimaplib.Command("AUTHENTICATE", protocol.new_tag(), "EXTERNAL", "=", loop=protocol.loop)
        await self._ok(protocol.execute(command), "authentification EXTERNAL")
        protocol.state = aioimaplib.AUTH
        await self._call(protocol.capability(), "capacités")

    async def pending(self) -> list[str]:
        response = await self._ok(self.client.uid_search("UNKEYWORD", PROCESSED, charset=None), "recherche")
        uids: list[str] = []
        for line in response.lines[:-1]:
            text = bytes(line).decode("ascii", "replace").strip()
            if text.upper().startswith("SEARCH"):
                text = text[6:]
            uids += [t for t in text.split() if t.isdigit()]
        return uids

    async def fetch(self, uid: str) -> bytes | None:
        response = await self._ok(self.client.uid("fetch", uid, "(BODY.PEEK[])"), "lecture d'un message")
        for line in response.lines:
            if isinstance(line, bytearray):
                return bytes(line)
        return None  # expunged meanwhile

    async def mark_processed(self, uid: str) -> None:
        await self._ok(self.client.uid("store", uid, "+FLAGS.SILENT", f"({PROCESSED} \\Seen)"), "marquage")

    async def wait_for_news(self, seconds: float) -> bool:
        if not self.client.has_capability("IDLE"):
            await asyncio.sleep(seconds)
            return False
        idle = await self._call(self.client.idle_start(timeout=seconds), "IDLE")
        news = False
        try:
            while not self.lost.is_set():
                pushed = await self.client.wait_server_push(timeout=seconds + 5)
                if pushed == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    break
                if any(b"EXISTS" in bytes(line) for line in pushed if isinstance(line, bytes | bytearray)):
                    news = True
                    break
        except TimeoutError:
            pass
        finally:
            if self.client.has_pending_idle() and not self.lost.is_set():
                self.client.idle_done()
                await self._call(asyncio.wait_for(idle, self.config.timeout), "fin d'IDLE")
        if self.lost.is_set():
            raise ImapError("IMAP, IDLE : connexion perdue")
        return news

    async def close(self) -> None:
        try:
            if not self.lost.is_set():
                await asyncio.wait_for(self.client.logout(), 5)
        except Exception as exc:  # noqa: BLE001 - closing anyway
            log.debug("IMAP logout failed: %s", type(exc).__name__)
        transport = self.client.protocol.transport
        if transport is not None:
            transport.close()
