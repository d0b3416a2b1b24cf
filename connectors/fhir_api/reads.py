"""Reading the caller's own Tasks and their Communications, each read audited.

Contract (every function filters on ``Thread.client_id == grant.client_id``: another client's Task is "not found",
and that refusal is audited):
- ``await read_task(hub, grant, task_id, actor) -> dict | None``;
- ``await search_tasks(hub, grant, statuses, updated_filters, count, actor) -> list[dict]``;
- ``await search_communications(hub, grant, task_id, actor) -> list[dict] | None`` — the physicians' messages
  (direction ``out``) and the client's own (channel ``fhir``), decrypted, oldest first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.sql.elements import ColumnElement

from connectors.fhir_api.resources import communication, task
from hub.audit import Actor
from hub.core import Hub
from hub.smart import AccessGrant
from hub.store.models import Message, Request, Thread

COMPARATORS = ("gt", "ge", "lt", "le", "eq")


def _task(request: Request, reference: str) -> dict[str, Any]:
    return task(request.id, request.status, request.event, reference, business_status=request.business_status,
                created=request.created_at, updated=request.updated_at)


async def read_task(hub: Hub, grant: AccessGrant, task_id: str, actor: Actor) -> dict[str, Any] | None:
    async with hub.db.session() as session, session.begin():
        row = (await session.execute(
            select(Request, Thread.reference).join(Thread, Thread.id == Request.thread_id)
            .where(Request.id == task_id, Thread.client_id == grant.client_id))).first()
        if row is None:
            await hub.audit.record(session, actor=actor, action="read", entity_type="Task", entity_id=task_id[:64],
                                   outcome="denied", detail="not this client's Task")
            return None
        await hub.audit.record(session, actor=actor, action="read", entity_type="Task", entity_id=task_id)
    return _task(row[0], row[1])


def updated_clause(comparator: str, moment: datetime) -> ColumnElement[bool]:
    column = Request.updated_at
    return {"gt": column > moment, "ge": column >= moment, "lt": column < moment, "le": column <= moment,
            "eq": column == moment}[comparator]


async def search_tasks(hub: Hub, grant: AccessGrant, statuses: list[str], updated: list[tuple[str, datetime]],
                       count: int, actor: Actor) -> list[dict[str, Any]]:
    query = (select(Request, Thread.reference).join(Thread, Thread.id == Request.thread_id)
             .where(Thread.client_id == grant.client_id))
    if statuses:
        query = query.where(Request.status.in_(statuses))
    for comparator, moment in updated:
        query = query.where(updated_clause(comparator, moment))
    query = query.order_by(Request.updated_at.desc(), Request.id).limit(count)
    async with hub.db.session() as session, session.begin():
        rows = (await session.execute(query)).all()
        for request, _ in rows:
            await hub.audit.record(session, actor=actor, action="read", entity_type="Task", entity_id=request.id,
                                   detail="search")
    return [_task(request, reference) for request, reference in rows]


async def search_communications(hub: Hub, grant: AccessGrant, task_id: str, actor: Actor
                                ) -> list[dict[str, Any]] | None:
    async with hub.db.session() as session, session.begin():
        request = (await session.execute(
            select(Request).join(Thread, Thread.id == Request.thread_id)
            .where(Request.id == task_id, Thread.client_id == grant.client_id))).scalar_one_or_none()
        if request is None:
            await hub.audit.record(session, actor=actor, action="read", entity_type="Communication",
                                   entity_id=task_id[:64], outcome="denied", detail="not this client's Task")
            return None
        messages = (await session.execute(
            select(Message).where(Message.thread_id == request.thread_id,
                                  or_(Message.direction == "out",
                                      (Message.direction == "in") & (Message.channel == "fhir")))
            .order_by(Message.created_at, Message.id))).scalars().all()
        out = []
        for m in messages:
            body = await hub.sealer.open_text(session, m.data_key_id, "messages", m.id, "body", m.body_enc)
            out.append(communication(m.id, task_id, m.direction, m.kind, m.author_label, body, m.created_at))
            await hub.audit.record(session, actor=actor, action="read", entity_type="Communication",
                                   entity_id=m.id, detail=f"Task {task_id}")
    return out
