"""Opening many sealed cells at once: one query for all their data keys instead of one per cell.

Contract: ``await open_texts(hub, session, cells)`` with ``cells`` a list of
``(data_key_id, table, row_id, field, blob)`` returns the plaintexts in the same order (``""`` for a ``None``
blob). Raises ``DecryptError`` like ``Sealer.open`` when a cell does not open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crypto.envelope import DecryptError, WrappedKey
from hub.store.models import DataKeyRow
from hub.store.sealing import aad

if TYPE_CHECKING:
    from hub.core import Hub

Cell = tuple[str, str, str, str, bytes | None]


async def open_texts(hub: Hub, session: AsyncSession, cells: Sequence[Cell]) -> list[str]:
    key_ids = {c[0] for c in cells if c[4] is not None}
    keys: dict[str, bytes] = {}
    if key_ids:
        rows = (await session.execute(select(DataKeyRow).where(DataKeyRow.id.in_(key_ids)))).scalars().all()
        for row in rows:
            keys[row.id] = hub.vault.unwrap(WrappedKey(id=row.id, kek_id=row.kek_id, wrapped=row.wrapped))
    out: list[str] = []
    for key_id, table, row_id, field, blob in cells:
        if blob is None:
            out.append("")
            continue
        if key_id not in keys:
            raise DecryptError(f"data key {key_id} not found")
        out.append(hub.vault.open_with(keys[key_id], blob, aad(table, row_id, field)).decode("utf-8"))
    return out
