"""Which thread an incoming message answers: by the reply token of its recipient, or by the Message-IDs it cites.

Contract: each method opens its own short read transaction and raises only on storage errors (the SMTP connector
turns those into ``451``).
- ``await replies.by_reply_token(token)`` → the thread id whose reply address carries ``token``, or None;
- ``await replies.by_message_ids(ids)`` → the thread one of ``ids`` (most relevant first) belongs to: our
  outbound Message-IDs (thread aliases) first, then the stored inbound ones; or None.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from hub.store.db import Database
from hub.store.models import Message, Thread, ThreadAlias


class ReplyFinder:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def by_reply_token(self, token: str) -> str | None:
        async with self.db.session() as session, session.begin():
            found = (await session.execute(
                select(Thread.id).where(Thread.reply_token == token.lower()))).scalar_one_or_none()
        return str(found) if found is not None else None

    async def by_message_ids(self, ids: Sequence[str]) -> str | None:
        if not ids:
            return None
        async with self.db.session() as session, session.begin():
            aliases = {str(a): str(t) for a, t in (await session.execute(
                select(ThreadAlias.rfc822_id, ThreadAlias.thread_id).where(ThreadAlias.rfc822_id.in_(list(ids)))))}
            stored = {str(a): str(t) for a, t in (await session.execute(
                select(Message.rfc822_id, Message.thread_id).where(Message.rfc822_id.in_(list(ids)))))}
        for rfc822_id in ids:
            found = aliases.get(rfc822_id) or stored.get(rfc822_id)
            if found:
                return found
        return None
