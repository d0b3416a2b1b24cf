"""Database look-ups the SMTP handler needs: reply tokens, threads by Message-ID, senders in the directory.

Contract: each function opens its own short read transaction on ``hub.db`` and raises only on storage errors
(the handler turns those into ``451``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import func, select

from hub.core import Hub
from hub.store.models import Message, Practitioner, Thread, ThreadAlias


async def thread_by_token(hub: Hub, token: str) -> str | None:
    async with hub.db.session() as session, session.begin():
        return (await session.execute(
            select(Thread.id).where(Thread.reply_token == token.lower()))).scalar_one_or_none()


async def thread_by_message_ids(hub: Hub, ids: Sequence[str]) -> str | None:
    """The thread one of ``ids`` (most relevant first) belongs to: our outbound ids, then stored inbound ones."""
    if not ids:
        return None
    async with hub.db.session() as session, session.begin():
        aliases = {str(a): str(t) for a, t in (await session.execute(
            select(ThreadAlias.rfc822_id, ThreadAlias.thread_id).where(ThreadAlias.rfc822_id.in_(list(ids)))))}
        stored = {str(a): str(t) for a, t in (await session.execute(
            select(Message.rfc822_id, Message.thread_id).where(Message.rfc822_id.in_(list(ids)))))}
    for rfc822_id in ids:
        found = aliases.get(rfc822_id) or stored.get(rfc822_id)
        if found:
            return found
    return None


class SenderCache:
    """Directory look-ups of senders, remembered for ``ttl`` seconds (the directory changes seldom; a GP who writes
    often costs one query a minute instead of one per message). Holds nothing another process needs."""

    def __init__(self, ttl: float = 60.0, size: int = 2048) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[tuple[str | None, str | None], tuple[float, Practitioner | None]] = {}

    async def practitioner(self, hub: Hub, email: str | None, rpps: str | None) -> Practitioner | None:
        key, now = ((email or "").lower() or None, rpps), time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        found = await practitioner(hub, email, rpps)
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (now, found)
        return found


async def practitioner(hub: Hub, email: str | None, rpps: str | None) -> Practitioner | None:
    """The directory entry of the sender: by email first, else by the RPPS written in the message."""
    async with hub.db.session() as session, session.begin():
        if email:
            found = (await session.execute(
                select(Practitioner).where(func.lower(Practitioner.email) == email.lower()).limit(1)
            )).scalar_one_or_none()
            if found is not None:
                return found
        if rpps:
            return (await session.execute(
                select(Practitioner).where(Practitioner.rpps == rpps))).scalar_one_or_none()
    return None
