"""Key rotation without a lost data key: a data key is wrapped under the KEK that is active when its row is
flushed, under a lock that the rotation's last step takes exclusively.

Contract:
- ``install(db, vault)`` (done by ``Hub.open``) adds a ``before_flush`` hook to the database's sessions: for each
  new ``DataKeyRow`` it first takes the key lock in shared mode (PostgreSQL: a transaction-level advisory lock;
  SQLite: the write lock every transaction already holds, ``BEGIN IMMEDIATE``), then re-wraps the key under the
  KEK active at that moment when it was made under an older one. The lock is held until the writer commits.
- ``await lock_exclusive(session)`` (``hub.keys.rotate``'s last step) waits for every writer holding the lock
  in shared mode. Once it holds it, no transaction can commit a data key wrapped under a KEK other than the active
  one except those it waited for, which have committed: what it then finds is all there is.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from hub.crypto.envelope import Vault, WrappedKey
from hub.store.db import Database
from hub.store.models import DataKeyRow

LOCK_ID = 0x67756963  # "guic"
PLAIN = "_guichet_plain_key"  # the unwrapped key, kept on the pending row object (never stored)


def remember_plain(row: DataKeyRow, key: bytes) -> None:
    setattr(row, PLAIN, key)


def install(db: Database, vault: Vault) -> None:
    postgres = db.is_postgres

    def before_flush(session: Session, _context: Any, _instances: Any) -> None:
        fresh = [obj for obj in session.new if isinstance(obj, DataKeyRow)]
        if not fresh:
            return
        if postgres:
            session.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": LOCK_ID})
        else:
            session.connection()  # BEGIN IMMEDIATE: the database's write lock, until commit
        active = vault.keystore.active_kek_id()
        for row in fresh:
            if row.kek_id == active:
                continue
            plain = getattr(row, PLAIN, None)
            if plain is None:
                plain = vault.unwrap(WrappedKey(row.id, row.kek_id, row.wrapped))
            row.kek_id, row.wrapped = active, aes_key_wrap(vault.keystore.kek(active), plain)

    event.listen(db.sync_session_class, "before_flush", before_flush)


async def lock_exclusive(session: AsyncSession) -> None:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_ID})
    else:
        await session.connection()
