"""What a mailbox reader (the MSSanté connector) needs from the hub, without touching the store itself.

Contract:
- ``MailboxService(db, outbox)`` (``hub.mailbox``, built by the composition root); every method opens its own
  short transaction and raises only on storage errors.
- ``acquire(name, holder, seconds)`` → ``True`` when ``holder`` now holds the lease ``name`` until now +
  ``seconds`` (it was free, expired, or already its own); ``False`` while another holder's lease runs. Calling it
  again renews. ``release(name, holder)`` ends the holder's lease (others' are left alone). Both are the
  installation's named leases (``hub.scale.leases``).
- ``queue(kind, purpose, email, thread_id)`` commits one outbox row (receipts the reader sends after a commit).
- ``delivery_report(thread_id, message_ids, failed, detail)`` applies a receipt or a delivery status
  notification to the outgoing message it is about (an ``email`` or ``mssante`` row of that thread whose
  Message-ID is one of ``message_ids``): a failure puts the row in dead letter with ``last_error`` =
  ``"non-remise : …"``; a success leaves it ``sent``. Returns the row id, or ``None`` when nothing matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from hub.outbox import OutboundEmail
from hub.scale.leases import Leases
from hub.store.models import OutboxItem

if TYPE_CHECKING:
    from hub.outbox import Outbox
    from hub.store.db import Database


class MailboxService:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox
        self.leases = Leases(db)  # the installation's named leases (``hub.scale.leases``, table ``leases``)

    async def acquire(self, name: str, holder: str, seconds: float) -> bool:
        return await self.leases.acquire(name, holder, timedelta(seconds=seconds))

    async def release(self, name: str, holder: str) -> None:
        await self.leases.release(name, holder)

    async def queue(self, kind: str, purpose: str, email: OutboundEmail, thread_id: str | None) -> str:
        async with self.db.session() as session, session.begin():
            row_id = self.outbox.enqueue_email(session, purpose, email, thread_id=thread_id, kind=kind)
        return row_id

    async def delivery_report(self, thread_id: str, message_ids: Sequence[str], failed: bool,
                              detail: str) -> str | None:
        if not message_ids:
            return None
        async with self.db.session() as session, session.begin():
            rows = (await session.execute(
                select(OutboxItem).where(OutboxItem.thread_id == thread_id,
                                         OutboxItem.kind.in_(("email", "mssante")),
                                         OutboxItem.status.in_(("sent", "pending"))))).scalars().all()
            for row in rows:
                payload = await self.outbox.payload(session, row)
                if (payload.get("headers") or {}).get("Message-ID") in message_ids:
                    if failed:
                        row.status, row.last_error = "dead", f"non-remise : {detail}"[:500]
                    return row.id
        return None
