"""Sealing record fields: the bridge between the ``Vault`` and the ``data_keys`` table.

Contract:
- ``key = sealer.new_key(session)`` adds a ``DataKeyRow`` to the session and returns the usable key;
- ``sealer.seal(key, "requests", row_id, "payload", value)`` returns the ciphertext for that column;
- ``await sealer.open(session, data_key_id, "requests", row_id, "payload", blob)`` returns the plaintext.
The associated data ``"table:id:field"`` ties each ciphertext to its cell.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.crypto.envelope import DataKey, DecryptError, Vault, WrappedKey
from hub.store.key_guard import remember_plain
from hub.store.models import DataKeyRow


def aad(table: str, row_id: str, field: str) -> str:
    return f"{table}:{row_id}:{field}"


class Sealer:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def new_key(self, session: AsyncSession) -> DataKey:
        key = self.vault.new_data_key()
        row = DataKeyRow(id=key.row.id, kek_id=key.row.kek_id, wrapped=key.row.wrapped)
        remember_plain(row, key.key)  # re-wrapped at flush if a rotation switched the KEK meanwhile (key_guard)
        session.add(row)
        return key

    def seal(self, key: DataKey, table: str, row_id: str, field: str, value: bytes | str) -> bytes:
        return self.vault.seal(key.key, value, aad(table, row_id, field))

    def seal_json(self, key: DataKey, table: str, row_id: str, field: str, value: Any) -> bytes:
        return self.seal(key, table, row_id, field, json.dumps(value, ensure_ascii=False, default=str))

    async def key(self, session: AsyncSession, data_key_id: str) -> bytes:
        row = await session.get(DataKeyRow, data_key_id)
        if row is None:
            raise DecryptError(f"data key {data_key_id} not found")
        return self.vault.unwrap(WrappedKey(id=row.id, kek_id=row.kek_id, wrapped=row.wrapped))

    async def open(
        self, session: AsyncSession, data_key_id: str, table: str, row_id: str, field: str, blob: bytes
    ) -> bytes:
        return self.vault.open_with(await self.key(session, data_key_id), blob, aad(table, row_id, field))

    async def open_text(
        self, session: AsyncSession, data_key_id: str, table: str, row_id: str, field: str, blob: bytes
    ) -> str:
        return (await self.open(session, data_key_id, table, row_id, field, blob)).decode("utf-8")

    async def open_json(
        self, session: AsyncSession, data_key_id: str, table: str, row_id: str, field: str, blob: bytes
    ) -> Any:
        return json.loads(await self.open(session, data_key_id, table, row_id, field, blob))
