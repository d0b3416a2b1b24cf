"""Helpers for the secure pickup tests: the queued emails of a thread, the link's token, the last one-time code."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from hub.core import Hub
from hub.store.models import OutboxItem


async def outbox_texts(hub: Hub, thread_id: str, purpose: str) -> list[dict[str, Any]]:
    async with hub.db.session() as session:
        rows = (await session.execute(select(OutboxItem).where(OutboxItem.thread_id == thread_id,
                                                               OutboxItem.purpose == purpose)
                                      .order_by(OutboxItem.created_at))).scalars().all()
        return [await hub.outbox.payload(session, o) for o in rows]


def link_token(text: str) -> str:
    token = re.search(r"/retrait/([A-Za-z0-9_-]+)", text)
    assert token is not None
    return token.group(1)


async def last_code(hub: Hub, thread_id: str, absent: str = "temps partiel") -> str:
    codes = await outbox_texts(hub, thread_id, "pickup-code")
    assert codes and absent not in codes[-1]["text"]
    found = re.search(r"\b(\d{6})\b", codes[-1]["text"])
    assert found is not None
    return found.group(1)
