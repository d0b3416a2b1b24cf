"""The heartbeat of outbox claims: work held by an instance that dies is taken over within seconds.

Contract:
- A worker claims a due row by writing its ``holder`` id in ``outbox.claimed_by`` and pushing ``next_attempt_at``
  a short ``lease`` ahead (10 s by default, ``guichet.toml`` key ``outbox_lease_seconds``).
- ``ClaimHeartbeat(db, holder, lease).run()`` renews, every third of the lease, the lease of every pending row the
  holder still claims (one ``UPDATE``). An instance that is killed, frozen or cut from the database stops renewing:
  its rows fall due again one lease later and any other worker claims them (``FOR UPDATE SKIP LOCKED``).
- Before delivering, and when recording the outcome, a worker checks it still holds the row, so a row taken over
  is never delivered twice by design. Only an instance that was alive but could not renew for a whole lease (cut
  from the database while its relay still answered) could overlap with the one that took over; the message keeps
  its ``Message-ID``, so the recipient's mail system sees the same message twice at worst.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from datetime import timedelta

from sqlalchemy import update

from hub.store.db import Database
from hub.store.models import OutboxItem, utcnow

log = logging.getLogger(__name__)
DEFAULT_LEASE = timedelta(seconds=10)


def new_holder() -> str:
    """An id for this instance's claims: no host name, no secret; unique across restarts."""
    return f"{os.getpid()}-{uuid.uuid4().hex[:16]}"


class ClaimHeartbeat:
    def __init__(self, db: Database, holder: str, lease: timedelta = DEFAULT_LEASE) -> None:
        self.db = db
        self.holder = holder
        self.lease = lease
        self.every = max(lease.total_seconds() / 3, 0.2)
        self._stopping = asyncio.Event()

    async def renew(self) -> int:
        """Push the lease of every row this holder claims; return how many."""
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                update(OutboxItem).where(OutboxItem.claimed_by == self.holder, OutboxItem.status == "pending")
                .values(next_attempt_at=utcnow() + self.lease).execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.renew()
            except Exception:  # noqa: BLE001 - database away: the claims lapse, as they should
                log.warning("outbox claims could not be renewed (database unreachable?)")
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self.every)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stopping.set()
