"""The outbox: everything the hub sends is first a row, committed with the change that caused it.

Contract:
- ``outbox.enqueue_email(session, purpose, email, thread_id)`` adds a row in the caller's transaction; a row that
  carries clinical content also names ``consent`` (:class:`ConsentTag`: the consent purpose it serves, its request
  and message).
- ``outbox.guard`` (set by the composition root: ``hub.consent.outbound.ConsentGuard``): called in the delivering
  transaction for every row with a ``consent_purpose``, just before it leaves; when it answers True the row is not
  handed to its transport and ends ``held`` (final, distinct from ``dead``; the guard audits and tells the thread).
  Rows without clinical content (acknowledgements, notifications, codes) are never checked.
- ``outbox.return_path``: when set (by the composition root: ``hub.bounces.ReturnPaths.address``), each email is
  sent from its own VERP envelope sender; delivery reports are believed only there (``hub.bounces``).
- ``OutboxWorker(db, outbox, transports, max_attempts).run_once()`` claims due rows (``claimed_by`` names the
  worker and a short lease moves ``next_attempt_at`` forward, with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so
  several workers share the queue), hands each to the transport of its ``kind``, then marks it ``sent``, or
  schedules a retry with exponential backoff, or ``dead`` after ``max_attempts`` (or at once on a permanent
  failure). While it runs, a heartbeat renews the lease of the rows it holds (``hub.scale.claims``): a worker that
  dies mid-delivery loses them one lease later (seconds), and another worker takes them over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.hygiene import redact
from hub.scale.claims import DEFAULT_LEASE, ClaimHeartbeat, new_holder
from hub.store.db import Database
from hub.store.models import OutboxItem, new_id, utcnow
from hub.store.sealing import Sealer

log = logging.getLogger(__name__)


class TransientDeliveryError(Exception):
    """Try again later (relay down, 4xx)."""


class PermanentDeliveryError(Exception):
    """Never going to work (5xx, bad address): the row goes straight to dead letter."""


@dataclass
class OutboundEmail:
    to: list[str]
    subject: str
    text: str
    from_addr: str
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)


class Transport(Protocol):
    async def deliver(self, payload: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class ConsentTag:
    """What a row carrying clinical content is for: checked again when it leaves (``Outbox.guard``)."""

    purpose: str
    request_id: str
    message_id: str | None = None


class Guard(Protocol):
    async def __call__(self, session: AsyncSession, item: OutboxItem) -> bool: ...


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 3600))


class Outbox:
    def __init__(self, db: Database, sealer: Sealer) -> None:
        self.db, self.sealer = db, sealer
        self.wakeup = asyncio.Event()
        self.return_path: Callable[[str], str] | None = None
        self.guard: Guard | None = None

    def enqueue_email(self, session: AsyncSession, purpose: str, email: OutboundEmail,
                      thread_id: str | None = None, kind: str = "email", consent: ConsentTag | None = None) -> str:
        """``kind`` names the transport (``email``; ``mssante`` rows wait for the MSSanté transport)."""
        row_id = new_id()
        key = self.sealer.new_key(session)
        session.add(OutboxItem(
            id=row_id, kind=kind, purpose=purpose, thread_id=thread_id, status="pending", attempts=0,
            next_attempt_at=utcnow(), data_key_id=key.id,
            consent_purpose=consent.purpose if consent else None, request_id=consent.request_id if consent else None,
            message_id=consent.message_id if consent else None,
            payload_enc=self.sealer.seal_json(key, "outbox", row_id, "payload", asdict(email)),
        ))
        self.wakeup.set()
        return row_id

    async def payload(self, session: AsyncSession, item: OutboxItem) -> dict[str, Any]:
        data: dict[str, Any] = await self.sealer.open_json(
            session, item.data_key_id, "outbox", item.id, "payload", item.payload_enc)
        return data


class OutboxWorker:
    def __init__(self, db: Database, outbox: Outbox, transports: dict[str, Transport], max_attempts: int = 8,
                 batch: int = 20, idle_seconds: float = 1.0, lease: timedelta = DEFAULT_LEASE,
                 holder: str | None = None) -> None:
        self.db, self.outbox, self.max_attempts = db, outbox, max_attempts
        self.transports = transports
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.lease = lease
        self.holder = holder or new_holder()
        self.heartbeat = ClaimHeartbeat(db, self.holder, lease)
        self._stopping = asyncio.Event()

    async def claim(self) -> list[OutboxItem]:
        now = utcnow()
        async with self.db.session() as session, session.begin():
            query = (select(OutboxItem)
                     .where(OutboxItem.status == "pending", OutboxItem.next_attempt_at <= now,
                            OutboxItem.kind.in_(list(self.transports)))
                     .order_by(OutboxItem.next_attempt_at).limit(self.batch))
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            items = list((await session.execute(query)).scalars())
            for item in items:
                item.attempts += 1
                item.next_attempt_at, item.claimed_by = now + self.lease, self.holder
        return items

    async def deliver(self, item: OutboxItem) -> str:
        async with self.db.session() as session, session.begin():
            row = await session.get(OutboxItem, item.id)
            if row is None or row.status != "pending" or row.claimed_by != self.holder:
                return "gone"  # delivered, or taken over after this worker's lease lapsed
            if row.consent_purpose and self.outbox.guard is not None and await self.outbox.guard(session, row):
                row.status, row.claimed_by, row.last_error = "held", None, "consent"
                return row.status  # the worker's decision forbids it now: it never leaves (audited by the guard)
            payload = await self.outbox.payload(session, row)
        if item.kind == "email" and self.outbox.return_path is not None:  # its own envelope sender (VERP)
            payload["return_path"] = self.outbox.return_path(item.id)
        error: str | None = None
        permanent = False
        try:
            await self.transports[item.kind].deliver(payload)
        except PermanentDeliveryError as exc:
            error, permanent = str(exc) or type(exc).__name__, True
        except Exception as exc:  # noqa: BLE001 - any other failure is retried
            error = f"{type(exc).__name__}: {exc}"
        if error is not None:  # a relay's answer may quote the recipient: stored and logged without it
            error = redact(error)
        async with self.db.session() as session, session.begin():
            row = await session.get(OutboxItem, item.id)
            if row is None:
                return "gone"
            if row.claimed_by != self.holder:
                log.warning("outbox %s was taken over by another worker during its delivery", row.id)
            row.claimed_by = None
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", utcnow(), None
            elif permanent or row.attempts >= self.max_attempts:
                row.status, row.last_error = "dead", error[:500]
                log.warning("outbox %s dead after %d attempts: %s", row.id, row.attempts, error)
            else:
                row.next_attempt_at, row.last_error = utcnow() + backoff(row.attempts), error[:500]
            return row.status

    async def run_once(self) -> int:
        items = await self.claim()
        for item in items:
            await self.deliver(item)
        return len(items)

    async def run(self) -> None:
        heartbeat = asyncio.get_running_loop().create_task(self.heartbeat.run())
        try:
            await self._loop(self.outbox.wakeup)
        finally:
            self.heartbeat.stop()
            await heartbeat

    async def _loop(self, wakeup: asyncio.Event) -> None:
        while not self._stopping.is_set():
            wakeup.clear()  # before the pass: a wake-up (NOTIFY, stop) that comes during it is not lost
            try:
                done = await self.run_once()
            except Exception:  # noqa: BLE001 - storage down: keep the worker alive
                log.exception("outbox worker pass failed")
                done = 0
            if done == 0 and not self._stopping.is_set():
                try:
                    await asyncio.wait_for(wakeup.wait(), timeout=self.idle_seconds)
                except TimeoutError:
                    pass

    def stop(self) -> None:
        self._stopping.set()
        self.outbox.wakeup.set()
