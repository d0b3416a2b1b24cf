"""Key rotation: make a new KEK, re-wrap every data key under it in small transactions, retire the old KEKs.

Running servers read ``active-kek`` for every new data key and load a KEK they do not know from disk, so they
keep working during a rotation. The old KEK files are removed only after a last step, holding the key lock
exclusively (``hub.store.key_guard``: it waits for every writer that wrapped a data key under an older KEK, and
writers after it wrap under the new one), re-wraps what is left and finds no data key that still uses them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy import func, select

from hub.audit import Actor
from hub.core import Hub
from hub.crypto.envelope import WrappedKey
from hub.store.key_guard import lock_exclusive
from hub.store.models import DataKeyRow


@dataclass
class RotationReport:
    new_kek_id: str
    rewrapped: int = 0
    retired: list[str] = field(default_factory=list)


async def kek_usage(hub: Hub) -> dict[str, int]:
    async with hub.db.session() as session:
        rows = await session.execute(select(DataKeyRow.kek_id, func.count()).group_by(DataKeyRow.kek_id))
        return {kek: count for kek, count in rows.all()}


async def rotate(hub: Hub, retire_old: bool = True, batch: int = 2000, grace_seconds: float = 1.0
                 ) -> RotationReport:
    old = set(hub.keystore.kek_ids())
    report = RotationReport(new_kek_id=hub.keystore.new_kek())
    for final_pass in (False, True):
        while True:
            async with hub.db.session() as session, session.begin():
                rows = (await session.execute(
                    select(DataKeyRow).where(DataKeyRow.kek_id != report.new_kek_id).limit(batch)
                )).scalars().all()
                for row in rows:
                    new = hub.vault.rewrap(WrappedKey(row.id, row.kek_id, row.wrapped), report.new_kek_id)
                    row.kek_id, row.wrapped = new.kek_id, new.wrapped
                report.rewrapped += len(rows)
            if len(rows) < batch:
                break
        if not final_pass:
            await asyncio.sleep(grace_seconds)  # let transactions begun under the old KEK commit
    async with hub.db.session() as session, session.begin():
        await lock_exclusive(session)  # every writer that wrapped under an old KEK has committed (key_guard)
        rows = (await session.execute(
            select(DataKeyRow).where(DataKeyRow.kek_id != report.new_kek_id))).scalars().all()
        for row in rows:
            new = hub.vault.rewrap(WrappedKey(row.id, row.kek_id, row.wrapped), report.new_kek_id)
            row.kek_id, row.wrapped = new.kek_id, new.wrapped
        report.rewrapped += len(rows)
        still = set((await session.execute(select(DataKeyRow.kek_id).distinct())).scalars())
        await hub.audit.record(session, actor=Actor("cli", "cli"), action="rotate", entity_type="KeyStore",
                               entity_id=report.new_kek_id, detail=f"{report.rewrapped} data keys re-wrapped")
    if retire_old:
        for kek_id in sorted(old - still - {report.new_kek_id}):
            hub.keystore.retire_kek(kek_id)
            report.retired.append(kek_id)
    return report
