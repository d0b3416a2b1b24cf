"""The audit trail: every read and write of health data appends an entry to a SHA-256 hash chain.

Contract:
- ``await audit.record(session, actor=…, action=…, entity_type=…, entity_id=…)`` appends in the caller's
  transaction (so the trace commits, or rolls back, with the access it records). Appends are serialised by a
  row lock on ``audit_head``; the chain has no gaps and no forks.
- ``await verify_chain(db)`` walks the chain and returns ``None`` when intact, else a :class:`ChainBreak` naming
  the first altered, removed or reordered entry.
Entries hold no health data: who, what (type and id), when, from where, outcome.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.db import Database
from hub.store.models import AuditEvent, AuditHead, utcnow

GENESIS = "0" * 64


def entry_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, entity_type: str,
               entity_id: str | None, outcome: str, source: str | None, detail: str | None) -> str:
    fields = [prev_hash, str(seq), at.strftime("%Y-%m-%dT%H:%M:%S.%f"), actor, action, entity_type,
              entity_id or "", outcome, source or "", detail or ""]
    return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who acts and from where (``source``: an IP address, ``smtp:<ip>``, ``cli``…)."""

    label: str
    source: str | None = None


SYSTEM = Actor("system", "hub")


class AuditLog:
    async def record(self, session: AsyncSession, *, actor: Actor, action: str, entity_type: str,
                     entity_id: str | None = None, outcome: str = "success", detail: str | None = None) -> int:
        query = select(AuditHead).where(AuditHead.id == 1).with_for_update()
        head = (await session.execute(query)).scalar_one_or_none()
        if head is None:
            head = AuditHead(id=1, seq=0, hash=GENESIS)
            session.add(head)
        seq = head.seq + 1
        at = utcnow()
        digest = entry_hash(head.hash, seq, at, actor.label, action, entity_type, entity_id, outcome,
                            actor.source, detail)
        session.add(AuditEvent(seq=seq, at=at, actor=actor.label[:200], action=action, entity_type=entity_type,
                               entity_id=entity_id, outcome=outcome, source=(actor.source or "")[:100] or None,
                               detail=detail[:300] if detail else None, prev_hash=head.hash, hash=digest))
        head.seq = seq
        head.hash = digest
        await session.flush()
        return seq


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"audit entry {self.seq}: {self.problem}"


async def verify_chain(db: Database, batch: int = 5000) -> tuple[int, ChainBreak | None]:
    """Return (entries checked, first break or None)."""
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
                digest = entry_hash(row.prev_hash, row.seq, row.at, row.actor, row.action, row.entity_type,
                                    row.entity_id, row.outcome, row.source, row.detail)
                if digest != row.hash:
                    return checked, ChainBreak(row.seq, "altered (its content does not match its hash)")
                prev_hash, expected_seq, last = row.hash, row.seq + 1, row.seq
                checked += 1
        head = await session.get(AuditHead, 1)
        if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
            return checked, ChainBreak(expected_seq, f"removed (the chain ends at {expected_seq - 1} but its head "
                                                     f"says {head.seq})")
    return checked, None
