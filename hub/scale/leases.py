"""Named leases: one instance at a time does a given job (the MSSanté mailbox reader), taken over when it dies.

Contract: ``await leases.acquire(name, holder, ttl)`` takes the lease ``name`` for ``holder`` until now + ``ttl``,
or renews it when ``holder`` already has it, and returns True; it returns False while another holder's lease runs.
One atomic statement (``INSERT … ON CONFLICT DO UPDATE … WHERE``) on SQLite and PostgreSQL alike. A holder renews
every third of ``ttl``; one that stops (killed, cut from the database) loses the lease when it expires.
``await leases.release(name, holder)`` gives it up at once (a clean stop). Use ``hub.scale.claims.new_holder()``
for the holder id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from hub.store.db import Database
from hub.store.models import Lease, utcnow


class Leases:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def acquire(self, name: str, holder: str, ttl: timedelta) -> bool:
        now = self.clock()
        dialect = postgresql if self.db.is_postgres else sqlite
        stmt = dialect.insert(Lease).values(name=name, holder=holder, expires_at=now + ttl)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Lease.name],
            set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
            where=(Lease.holder == stmt.excluded.holder) | (Lease.expires_at < now),
        ).returning(Lease.holder)
        async with self.db.session() as session, session.begin():
            got = (await session.execute(stmt)).scalar_one_or_none()
        return got == holder

    async def release(self, name: str, holder: str) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
