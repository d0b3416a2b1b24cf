"""The audit trail: every read and write of health data appends an entry to a keyed hash chain.

Contract:
- ``await audit.record(session, actor=…, action=…, entity_type=…, entity_id=…)`` adds the entry in the caller's
  transaction, so the trace commits, or rolls back, with the access it records. It takes no lock. Identities in
  actor labels (``email:<address>``, ``login:<what was typed>``) are replaced by keyed pseudonyms
  (:class:`hub.audit_keys.AuditKeys`). ``await audit.record_refusal(actor=…, …)`` records a refused access in
  a transaction of its own.
- Entries are chained just after their transaction commits: :func:`seal_pending` (run in the background after
  each commit that recorded something, by ``guichet audit verify`` and when the hub closes) gives each unchained
  entry the next ``seq`` and ``hash = HMAC-SHA256(audit key, prev_hash | seq | fields)`` under a short row lock
  on ``audit_head``, then writes a signed checkpoint outside the database (``hub.audit_checkpoint``). Only
  entries younger than the sealing window (``GUICHET_AUDIT_SEAL_WINDOW`` seconds) are chained: an unchained
  entry older than that was not written by the hub, and ``verify`` reports it as forged.
- ``await verify_chain(audit)`` (or ``verify_chain(db)`` for the database of a live ``AuditLog``) chains what is
  pending, walks the chain and compares its end with the checkpoints; it returns ``(checked, None)`` when intact,
  else a :class:`hub.audit_verify.ChainBreak` naming the first altered, removed, reordered, forged or truncated
  entry. What it cannot detect: ``docs/audit.md``.
Entries hold no health data: who, what (type and id), when, from where, outcome.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit_checkpoint import CheckpointStore
from hub.audit_keys import KEYED, LEGACY, AuditKeys
from hub.store.db import Database
from hub.store.models import AuditEvent, AuditHead, utcnow

if TYPE_CHECKING:
    from hub.audit_verify import ChainBreak

log = logging.getLogger(__name__)
GENESIS = "0" * 64
PENDING = "audit_pending"
DEFAULT_SEAL_WINDOW = timedelta(hours=1)
_LOGS: weakref.WeakKeyDictionary[Database, AuditLog] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Actor:
    """Who acts and from where (``source``: an IP address, ``smtp:<ip>``, ``cli``…)."""

    label: str
    source: str | None = None


SYSTEM = Actor("system", "hub")


class LegacyChainBroken(RuntimeError):
    """The unkeyed chain written before revision 0003 does not verify: it is not converted (``verify`` says why)."""


def _hash_of(keys: AuditKeys, row: AuditEvent, prev_hash: str, seq: int, scheme: str = KEYED) -> str:
    return keys.entry_hash(prev_hash, seq, row.at, row.actor, row.action, row.entity_type, row.entity_id,
                           row.outcome, row.source, row.detail, scheme)


async def _convert_legacy(session: AsyncSession, keys: AuditKeys, head: AuditHead) -> None:
    """Re-hash an intact unkeyed chain under the audit key (once, the first seal after revision 0003)."""
    rows = (await session.execute(select(AuditEvent).where(AuditEvent.seq.is_not(None))
                                  .order_by(AuditEvent.seq))).scalars().all()
    old_prev, new_prev = GENESIS, GENESIS
    for expected, row in enumerate(rows, start=1):
        if row.seq != expected or row.prev_hash != old_prev or _hash_of(keys, row, old_prev, expected,
                                                                         LEGACY) != row.hash:
            raise LegacyChainBroken(f"audit entry {expected}: the unkeyed chain does not verify")
        old_prev = str(row.hash)
        row.prev_hash, row.hash = new_prev, _hash_of(keys, row, new_prev, expected)
        new_prev = row.hash
    if (head.seq, head.hash) != (len(rows), old_prev):
        raise LegacyChainBroken(f"audit entry {len(rows) + 1}: the unkeyed chain's head does not match its end")
    head.hash, head.scheme = new_prev, KEYED


class AuditLog:
    """Records entries, keeps the chain sealed behind the commits of one process and checkpoints it."""

    def __init__(self, db: Database, batch_delay: float = 0.05, keys: AuditKeys | None = None,
                 checkpoint_dirs: list[Path] | None = None, seal_window: timedelta = DEFAULT_SEAL_WINDOW) -> None:
        self.db = db
        self.batch_delay = batch_delay
        self.keys = keys or AuditKeys(b"\0" * 32)  # tests of other parts may build an AuditLog without a key store
        self.checkpoints = CheckpointStore(checkpoint_dirs or [], self.keys)
        self.seal_window = seal_window
        self._tasks: set[asyncio.Task[None]] = set()
        self._sealing = False
        self._again = False
        _LOGS[db] = self
        event.listen(db.sync_session_class, "after_commit", self._after_commit)

    async def record(self, session: AsyncSession, *, actor: Actor, action: str, entity_type: str,
                     entity_id: str | None = None, outcome: str = "success", detail: str | None = None) -> None:
        session.add(AuditEvent(at=utcnow(), actor=self.keys.protect(actor.label)[:200], action=action,
                               entity_type=entity_type, entity_id=entity_id, outcome=outcome,
                               source=(actor.source or "")[:100] or None, detail=detail[:300] if detail else None))
        session.info[PENDING] = True

    async def record_refusal(self, *, actor: Actor, action: str, entity_type: str, entity_id: str | None = None,
                             detail: str | None = None) -> None:
        """Record a refused access (outcome ``denied``) in a transaction of its own: refusals happen where no
        transaction is open (an invalid token, a wrong follow-up link)."""
        async with self.db.session() as session, session.begin():
            await self.record(session, actor=actor, action=action, entity_type=entity_type, entity_id=entity_id,
                              outcome="denied", detail=detail)

    async def seal_pending(self, batch: int = 2000) -> int:
        """Chain every committed, unchained entry younger than the sealing window, oldest first; checkpoint the
        chain's end outside the database; return how many entries were chained."""
        total, cutoff = 0, utcnow() - self.seal_window
        while True:
            async with self.db.session() as session, session.begin():
                head = (await session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update())
                        ).scalar_one_or_none()
                if head is None:
                    head = AuditHead(id=1, seq=0, hash=GENESIS, scheme=KEYED)
                    session.add(head)
                elif head.scheme != KEYED:
                    await _convert_legacy(session, self.keys, head)
                rows = (await session.execute(select(AuditEvent).where(AuditEvent.seq.is_(None),
                                                                       AuditEvent.at >= cutoff)
                                              .order_by(AuditEvent.id).limit(batch))).scalars().all()
                for row in rows:
                    seq = head.seq + 1
                    row.seq, row.prev_hash, row.hash = seq, head.hash, _hash_of(self.keys, row, head.hash, seq)
                    head.seq, head.hash = seq, row.hash
                end = (head.seq, head.hash)
                first = (await session.execute(select(AuditEvent.hash).where(AuditEvent.seq == 1))
                         ).scalar_one_or_none()
            total += len(rows)
            if end[0] > 0 and self.checkpoints.paths:
                await asyncio.to_thread(self.checkpoints.write, end[0], end[1], first or "")
            if len(rows) < batch:
                return total

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
                await self.seal_pending()
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
        await self.seal_pending()


def audit_log_of(target: Database | AuditLog) -> AuditLog:
    if isinstance(target, AuditLog):
        return target
    found = _LOGS.get(target)
    return found if found is not None else AuditLog(target)


async def seal_pending(target: Database | AuditLog, batch: int = 2000) -> int:
    return await audit_log_of(target).seal_pending(batch)


async def verify_chain(target: Database | AuditLog, batch: int = 5000, seal: bool = True
                       ) -> tuple[int, ChainBreak | None]:
    """Return (entries checked, first break or None), after chaining what is pending unless ``seal=False``."""
    from hub.audit_verify import verify

    return await verify(audit_log_of(target), batch, seal)
