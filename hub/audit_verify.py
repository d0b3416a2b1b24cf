"""``verify``: walk the audit chain, look for forged entries and compare its end with the checkpoints.

Contract: ``await verify(audit, batch, seal)`` returns ``(entries checked, None)`` when the chain is intact, else
``(checked, ChainBreak)`` for the first problem found, in this order:
- along the chain: ``removed`` (a gap in ``seq``), ``reordered`` (a link that does not match), ``altered`` (content
  that does not match its keyed hash), ``forged`` (an entry dated before the previous one by more than the sealing
  window: back-dated);
- ``forged``: an unchained entry older than the sealing window (the hub chains its own entries within seconds);
- ``truncated``: the chain ends before its head row says, or before a checkpoint outside the database says;
- ``altered``: the entry a checkpoint names (or the first entry) no longer has the hash the checkpoint recorded;
- ``forged``: a checkpoint file whose signature does not match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from hub.audit_keys import KEYED
from hub.store.models import AuditEvent, AuditHead, utcnow

if TYPE_CHECKING:
    from hub.audit import AuditLog


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str  # starts with its kind: altered, removed, reordered, forged, truncated

    @property
    def kind(self) -> str:
        return self.problem.split(" ", 1)[0]

    def __str__(self) -> str:
        return f"audit entry {self.seq}: {self.problem}"


async def verify(audit: AuditLog, batch: int = 5000, seal: bool = True) -> tuple[int, ChainBreak | None]:
    from hub.audit import GENESIS, LegacyChainBroken, _hash_of

    if seal:
        try:
            await audit.seal_pending()
        except LegacyChainBroken:
            pass  # walked below with the unkeyed scheme, which names the break
    readings = audit.checkpoints.read()
    marks = {r.checkpoint.seq for r in readings if r.checkpoint is not None} | {1}
    seen: dict[int, str] = {}
    window = audit.seal_window
    prev_hash, expected_seq, checked, prev_at = GENESIS, 1, 0, None
    async with audit.db.session() as session:
        head = await session.get(AuditHead, 1)
        scheme = head.scheme if head is not None else KEYED
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
                if _hash_of(audit.keys, row, prev_hash, row.seq, scheme) != row.hash:
                    return checked, ChainBreak(row.seq, "altered (its content does not match its keyed hash)")
                if prev_at is not None and row.at < prev_at - window:
                    return checked, ChainBreak(row.seq, f"forged (back-dated: dated {row.at:%Y-%m-%d %H:%M:%S}, "
                                                        "before the previous entry by more than the sealing window)")
                if row.seq in marks:
                    seen[row.seq] = str(row.hash)
                prev_hash, prev_at, expected_seq, last = str(row.hash), row.at, row.seq + 1, row.seq
                checked += 1
        end = expected_seq - 1
        stale = (await session.execute(
            select(AuditEvent).where(AuditEvent.seq.is_(None), AuditEvent.at < utcnow() - window)
            .order_by(AuditEvent.id).limit(1))).scalar_one_or_none()
        if stale is not None:
            return checked, ChainBreak(end + 1, f"forged (entry #{stale.id}, dated {stale.at:%Y-%m-%d %H:%M:%S}, "
                                                "was never chained by the hub: written into the database directly)")
        if head is not None and (head.seq != end or head.hash != prev_hash):
            return checked, ChainBreak(end + 1, f"truncated or removed (the chain ends at {end} but its head "
                                                f"says {head.seq})")
    for reading in readings:
        point = reading.checkpoint
        if reading.problem is not None:
            return checked, ChainBreak(end + 1, f"forged or damaged checkpoint ({reading.problem})")
        if point is None:
            continue
        if point.seq > end:
            return checked, ChainBreak(end + 1, f"truncated (the checkpoint {reading.path} of {point.at} counts "
                                                f"{point.seq} entries; the chain ends at {end})")
        if seen.get(point.seq) != point.hash:
            return checked, ChainBreak(point.seq, f"altered (rewritten: this entry does not match the checkpoint "
                                                  f"{reading.path} of {point.at})")
        if point.first_hash and seen.get(1) != point.first_hash:
            return checked, ChainBreak(1, f"altered (rewritten from its first entry: it does not match the "
                                          f"checkpoint {reading.path})")
    return checked, None
