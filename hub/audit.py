"""The audit trail: every read and write of health data appends an entry to a SHA-256 hash chain.

Contract:
- ``await audit.record(session, actor=…, action=…, entity_type=…, entity_id=…)`` adds the entry in the caller's
  transaction, so the trace commits, or rolls back, with the access it records. It takes no lock.
- Entries are chained just after their transaction commits: :func:`seal_pending` (run in the background after
  each commit that recorded something, by ``guichet audit verify`` and when the hub closes) gives each unchained
  entry the next ``seq`` and ``hash = SHA-256(prev_hash | seq | fields)`` under a short row lock on
  ``audit_head``. Chaining after commit keeps that lock out of the request path: concurrent requests never wait
  for one another's audit entries. The chain has no gaps and no forks.
- ``await verify_chain(db)`` chains what is pending, then walks the chain and returns ``(checked, None)`` when
  intact, else a :class:`ChainBreak` naming the first altered, removed or reordered entry.
Entries hold no health data: who, what (type and id), when, from where, outcome.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.db import Database
from hub.store.models import AuditEvent, AuditHead, utcnow

log = logging.getLogger(__name__)
GENESIS = "0" * 64
PENDING = "audit_pending"


def entry_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, entity_type: str,
               entity_id: str | None, outcome: str, source: str | None, detail: str | None) -> str:
    fields = [prev_hash, str(seq), at.strftime("%Y-%m-%dT%H:%M:%S.%f"), actor, action, entity_type,
              entity_id or "", outcome, source or "", detail or ""]
    return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()


def _hash_of(row: AuditEvent, prev_hash: str, seq: int) -> str:
    return entry_hash(prev_hash, seq, row.at, row.actor, row.action, row.entity_type, row.entity_id, row.outcome,
                      row.source, row.detail)


@dataclass(frozen=True)
class Actor:
    """Who acts and from where (``source``: an IP address, ``smtp:<ip>``, ``cli``…)."""

    label: str
    source: str | None = None


SYSTEM = Actor("system", "hub")


async def seal_pending(db: Database, batch: int = 2000) -> int:
    """Chain every committed, unchained entry, oldest first; return how many were chained."""
    total = 0
    while True:
        async with db.session() as session, session.begin():
            head = (await session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update())
                    ).scalar_one_or_none()
            if head is None:
                head = AuditHead(id=1, seq=0, hash=GENESIS)
                session.add(head)
            rows = (await session.execute(select(AuditEvent).where(AuditEvent.seq.is_(None))
                                          .order_by(AuditEvent.id).limit(batch))).scalars().all()
            for row in rows:
                seq = head.seq + 1
                row.seq, row.prev_hash, row.hash = seq, head.hash, _hash_of(row, head.hash, seq)
                head.seq, head.hash = seq, row.hash
        total += len(rows)
        if len(rows) < batch:
            return total


class AuditLog:
    """Records entries and keeps the chain sealed behind the commits of one process."""

    def __init__(self, db: Database, batch_delay: float = 0.05) -> None:
        self.db = db
        self.batch_delay = batch_delay
        self._tasks: set[asyncio.Task[None]] = set()
        self._sealing = False
        self._again = False
        event.listen(db.sync_session_class, "after_commit", self._after_commit)

    async def record(self, session: AsyncSession, *, actor: Actor, action: str, entity_type: str,
                     entity_id: str | None = None, outcome: str = "success", detail: str | None = None) -> None:
        session.add(AuditEvent(at=utcnow(), actor=actor.label[:200], action=action, entity_type=entity_type,
                               entity_id=entity_id, outcome=outcome, source=(actor.source or "")[:100] or None,
                               detail=detail[:300] if detail else None))
        session.info[PENDING] = True

    def _after_commit(self, session: Any) -> None:
        if not session.info.pop(PENDING, False):
            return
        if self._sealing:
            self._again = True
            return
        try:
            task = asyncio.get_running_loop().create_task(self._seal_loop())
        except RuntimeError:  # no loop (a synchronous caller): the next seal picks the entries up
            return
        self._sealing = True
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _seal_loop(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.batch_delay)  # gather the entries of concurrent commits in one seal
                self._again = False
                await seal_pending(self.db)
                if not self._again:
                    return
        except Exception:  # noqa: BLE001 - storage trouble: entries stay pending for the next seal
            log.exception("audit chain sealing failed; entries stay pending")
        finally:
            self._sealing = False

    async def flush(self) -> None:
        """Wait for background sealing and chain whatever is still pending (before the process stops)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await seal_pending(self.db)


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"audit entry {self.seq}: {self.problem}"


async def verify_chain(db: Database, batch: int = 5000, seal: bool = True) -> tuple[int, ChainBreak | None]:
    """Return (entries checked, first break or None), after chaining what is pending unless ``seal=False``."""
    if seal:
        await seal_pending(db)
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    async with db.session() as session:
        last = 0
        while True:
            rows = (await session.execute(
                select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
            )).scalars().all()
            if not rows:
                break
            for row in rows:
                if row.seq != expected_seq:
                    return checked, ChainBreak(expected_seq, f"removed (the chain jumps from {expected_seq - 1} "
                                                             f"to {row.seq})")
                if row.prev_hash != prev_hash:
                    return checked, ChainBreak(row.seq, "reordered or preceded by a removed entry "
                                                        "(its link to the previous entry does not match)")
                if _hash_of(row, prev_hash, row.seq) != row.hash:
                    return checked, ChainBreak(row.seq, "altered (its content does not match its hash)")
                prev_hash, expected_seq, last = str(row.hash), row.seq + 1, row.seq
                checked += 1
        head = await session.get(AuditHead, 1)
        if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
            return checked, ChainBreak(expected_seq, f"removed (the chain ends at {expected_seq - 1} but its head "
                                                     f"says {head.seq})")
    return checked, None
