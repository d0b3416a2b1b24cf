"""The mailbox reader: holds the lease, reads what is new, hands it over, flags it processed, waits for more.

Contract: ``Reader(inbound, config, mailbox, holder).run()`` loops until ``stop()``:
1. take (or renew) the lease ``mssante:<address>`` for ``config.lease_seconds`` — while another instance holds
   it, wait and try again (so several ``guichet serve`` never read the same mailbox at once);
2. open an IMAP session; for each message not flagged processed: fetch, ``inbound.handle`` (returns once the hub
   committed), then flag it processed on the server. A message whose hand-over fails stays unflagged and is read
   again at the next pass (intake is idempotent, so it is stored once). Messages are fetched by batches of
   ``BATCH``: those that start a conversation are handed over together (one group commit), then those that may
   answer something (``In-Reply-To``/``References``), one after the other in mailbox order;
3. wait for news (IDLE, or a poll), at most a third of the lease, renew the lease, go to 2. The lease is also
   renewed after each batch, so a long backlog never outlives it unnoticed.
Any IMAP failure closes the session and retries with a growing delay (up to five minutes); ``stop()`` ends the
session and releases the lease. ``passes`` and ``last_error`` are there for tests and the log; the log names no
sender and no content.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from typing import TYPE_CHECKING

from connectors.mssante.config import MssanteConfig
from connectors.mssante.imap import ImapError, ImapSession
from connectors.mssante.inbound import Inbound

if TYPE_CHECKING:
    from hub.mailbox import MailboxService

log = logging.getLogger(__name__)
MAX_BACKOFF = 300.0
BATCH = 16
THREADED = re.compile(rb"^(in-reply-to|references)\s*:", re.I | re.M)
HEADER_END = re.compile(rb"\r?\n\r?\n")


class LeaseLost(Exception):
    """Another instance holds the mailbox now."""


class Reader:
    def __init__(self, inbound: Inbound, config: MssanteConfig, mailbox: MailboxService, holder: str,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.inbound = inbound
        self.config = config
        self.mailbox = mailbox
        self.holder = holder
        self.tls_context = tls_context or config.tls_context()
        self.lease_name = f"mssante:{config.address}"
        self.passes = 0
        self.handled = 0
        self.last_error: str | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    @property
    def _slice(self) -> float:
        return max(min(self.config.poll_seconds, self.config.lease_seconds / 3), 0.05)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def run(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                if not await self.mailbox.acquire(self.lease_name, self.holder, self.config.lease_seconds):
                    await self._sleep(self._slice)
                    continue
                await self._session()
                backoff = 1.0
            except ImapError as exc:
                self.last_error = str(exc)
                log.warning("MSSanté mailbox: %s (retry in %.0f s)", exc, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            except Exception as exc:  # noqa: BLE001 - storage down or a bug: keep the reader alive
                self.last_error = f"{type(exc).__name__}"
                log.error("MSSanté reader pass failed: %s", type(exc).__name__)  # its text may quote content
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
        try:
            await self.mailbox.release(self.lease_name, self.holder)
        except Exception:  # noqa: BLE001 - it expires anyway
            log.warning("MSSanté lease not released (it will expire)")

    async def _session(self) -> None:
        session = await ImapSession.open(self.config, self.tls_context)
        try:
            while not self._stopping.is_set():
                try:
                    await self._drain(session)
                except LeaseLost:
                    log.warning("MSSanté lease taken by another instance: this one stops reading")
                    return
                self.passes += 1
                if self._stopping.is_set():
                    break
                await self._wait(session)
                if not await self.mailbox.acquire(self.lease_name, self.holder, self.config.lease_seconds):
                    log.warning("MSSanté lease taken by another instance: this one stops reading")
                    return
        finally:
            await session.close()

    async def _drain(self, session: ImapSession) -> None:
        uids = await session.pending()
        for start in range(0, len(uids), BATCH):
            if self._stopping.is_set():
                return
            fetched = [(uid, await session.fetch(uid)) for uid in uids[start:start + BATCH]]
            items = [(uid, raw) for uid, raw in fetched if raw is not None]
            # new conversations together (intake commits them in one transaction), then whatever may answer
            # one of them, in order, so that an answer always finds the thread it belongs to
            threaded = [bool(THREADED.search(HEADER_END.split(r, 1)[0])) for _, r in items]
            fresh = [item for item, t in zip(items, threaded, strict=True) if not t]
            rest = [item for item, t in zip(items, threaded, strict=True) if t]
            done = await asyncio.gather(*(self._hand_over(u, r) for u, r in fresh))
            done += [await self._hand_over(u, r) for u, r in rest]
            for uid in (u for u in done if u is not None):
                await session.mark_processed(uid)
                self.handled += 1
            if not await self.mailbox.acquire(self.lease_name, self.holder, self.config.lease_seconds):
                raise LeaseLost  # a long backlog outlived the lease: the other instance goes on from here

    async def _hand_over(self, uid: str, raw: bytes) -> str | None:
        """The uid once the hub committed the message; ``None`` when it could not (left unflagged)."""
        try:
            await self.inbound.handle(raw)
        except Exception as exc:  # noqa: BLE001 - not committed: left unflagged, read again next pass
            self.last_error = type(exc).__name__
            log.error("MSSanté message %s not stored (%s); it stays in the mailbox for the next pass", uid,
                      type(exc).__name__)
            return None
        return uid

    async def _wait(self, session: ImapSession) -> None:
        idle = asyncio.ensure_future(session.wait_for_news(self._slice))
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({idle, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not idle.done():
            idle.cancel()
            try:
                await idle
            except (asyncio.CancelledError, ImapError):
                pass
            return
        idle.result()  # raises ImapError when the connection was lost

    def stop(self) -> None:
        self._stopping.set()
