"""The consent registry for an API client (a CPTS/DAC), limited to its own requests and its own purposes.

Contract:
- ``await client_history(hub, client_id, task_id, actor)`` → the decisions of the request's worker for the
  purposes a client deals with (``CLIENT_PURPOSES``), oldest first; ``None`` when the Task is not the client's.
- ``await client_record(hub, client_id, task_id, purpose, decision, on, author, actor)`` records a decision the
  client collected (channel ``api``); ``None`` when the Task is not the client's; ``Forbidden`` for a purpose that
  is not the client's to record, ``Invalid`` for bad values (French messages). Both audited.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import Actor
from hub.consent import registry
from hub.inbox.errors import Forbidden
from hub.store.models import Request, Thread

if TYPE_CHECKING:
    from hub.core import Hub

CLIENT_PURPOSES = ("exchange-cpts-dac", "pdp-referral")


async def _own(session: AsyncSession, client_id: str, task_id: str) -> Request | None:
    return (await session.execute(select(Request).join(Thread, Thread.id == Request.thread_id).where(
        Request.id == task_id, Thread.client_id == client_id))).scalar_one_or_none()


async def client_history(hub: Hub, client_id: str, task_id: str, actor: Actor
                         ) -> list[registry.ConsentEntry] | None:
    async with hub.db.session() as session, session.begin():
        request = await _own(session, client_id, task_id)
        if request is None:
            return None
        key = await registry.subject_key(hub, session, request)
        entries = [e for e in await registry.history(hub, session, key) if e.purpose in CLIENT_PURPOSES]
        await hub.audit.record(session, actor=actor, action="read", entity_type="Consent", entity_id=task_id,
                               detail="API client: its purposes")
        return entries


async def client_record(hub: Hub, client_id: str, task_id: str, purpose: str, decision: str, on: date | None,
                        author: str, actor: Actor) -> registry.ConsentEntry | None:
    if purpose not in CLIENT_PURPOSES:
        raise Forbidden(f"Un client de l'API ne peut enregistrer une décision que pour : {', '.join(CLIENT_PURPOSES)}"
                        f" (reçu : « {purpose[:40]} »).")
    async with hub.db.session() as session, session.begin():
        request = await _own(session, client_id, task_id)
        if request is None:
            return None
        key = await registry.subject_key(hub, session, request)
        return await registry.record(hub, session, worker_key=key, purpose=purpose, decision=decision,
                                     channel="api", author=author, actor=actor, on=on, request_id=task_id)
