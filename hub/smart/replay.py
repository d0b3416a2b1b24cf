"""Replay protection for client assertions: each ``(client, jti)`` is accepted once until it expires.

Contract: ``await ReplayStore(db).first_use(client_id, jti, expires_at)`` returns True the first time and False
for a replay — across processes, since the check is the primary key of ``used_jtis`` in the shared database.
Expired ids are purged now and then (an assertion can no longer be used after its ``exp`` anyway).
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from hub.store.db import Database
from hub.store.models import UsedJti, utcnow

PURGE_EVERY = 60.0


class ReplayStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._last_purge = 0.0

    @staticmethod
    def digest(client_id: str, jti: str) -> str:
        return hashlib.sha256(f"{client_id}\x1f{jti}".encode()).hexdigest()

    async def first_use(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        digest = self.digest(client_id, jti)
        await self._maybe_purge()
        async with self.db.session() as session:
            try:
                async with session.begin():
                    session.add(UsedJti(digest=digest, expires_at=expires_at))
            except IntegrityError:
                return False
        return True

    async def seen(self, client_id: str, jti: str) -> bool:
        async with self.db.session() as session:
            found = (await session.execute(select(UsedJti.digest).where(
                UsedJti.digest == self.digest(client_id, jti)))).scalar_one_or_none()
        return found is not None

    async def _maybe_purge(self) -> None:
        now = time.monotonic()
        if now - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = now
        async with self.db.session() as session, session.begin():
            await session.execute(delete(UsedJti).where(UsedJti.expires_at < utcnow()))
