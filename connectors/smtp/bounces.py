"""Delivery reports for mail we sent: find the outbox row the report is about and put it in dead letter.

Contract: ``await mark_bounced(hub, thread_id, bounced_ids, diagnostic)`` looks at the thread's sent email rows,
opens their payloads, and marks ``dead`` (``last_error`` = ``bounce: …``) the one whose Message-ID the report
names; returns the row id or ``None``. Raises only on storage errors.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from hub.core import Hub
from hub.store.models import OutboxItem


async def mark_bounced(hub: Hub, thread_id: str, bounced_ids: Sequence[str], diagnostic: str) -> str | None:
    if not bounced_ids:
        return None
    async with hub.db.session() as session, session.begin():
        rows = (await session.execute(
            select(OutboxItem).where(OutboxItem.thread_id == thread_id, OutboxItem.kind == "email",
                                     OutboxItem.status == "sent"))).scalars().all()
        for row in rows:
            payload = await hub.outbox.payload(session, row)
            if (payload.get("headers") or {}).get("Message-ID") in bounced_ids:
                row.status, row.last_error = "dead", f"bounce: {diagnostic}"[:500]
                return row.id
    return None


def diagnostic(text: str) -> str:
    """The most telling line of a delivery report (the ``Diagnostic-Code``, else the ``Status``)."""
    for marker in ("Diagnostic-Code:", "Status:"):
        for line in text.splitlines():
            if line.strip().lower().startswith(marker.lower()):
                return line.strip()[:300]
    return "non-remise signalée par le serveur destinataire"
