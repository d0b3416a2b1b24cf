"""What an API client may read of its own requests (Tasks) and their messages (Communications), each read audited.

Contract (every method filters on ``Thread.client_id == client_id``: another client's Task is "not found"):
- ``await tasks.read(client_id, task_id, actor) -> TaskInfo | None``;
- ``await tasks.search(client_id, statuses, updated, count, actor) -> list[TaskInfo]`` (``updated``: pairs of a
  comparator in ``COMPARATORS`` and an aware datetime), newest first;
- ``await tasks.communications(client_id, task_id, actor) -> list[MessageInfo] | None`` — the physicians'
  messages (direction ``out``) and the client's own (channel ``fhir``), decrypted, oldest first; the physicians'
  messages only while the worker's consent lets them leave (``hub.consent.gate.check_transfer``, audited); never
  the pré-reprise letters (kind ``recommendation``: they are for the employer and the médecin conseil);
- ``await tasks.owned(client_id, task_id) -> TaskInfo | None`` (not audited: no health data is read);
- ``await tasks.message_raw(message_id) -> (thread_id, raw) | None``: a stored message's raw bytes, to tell a
  re-sent reply from a reused id with another body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.sql.elements import ColumnElement

from hub.audit import Actor, AuditLog
from hub.consent.gate import check_transfer
from hub.consent.purposes import reply_purpose
from hub.consent.registry import ConsentDeps
from hub.store.db import Database
from hub.store.models import Message, Request, Thread
from hub.store.models.messaging import TASK_STATUSES
from hub.store.sealing import Sealer

COMPARATORS = ("gt", "ge", "lt", "le", "eq")
__all__ = ["COMPARATORS", "TASK_STATUSES", "ClientTasks", "MessageInfo", "TaskInfo"]


@dataclass(frozen=True)
class TaskInfo:
    id: str
    thread_id: str
    reference: str
    event: str
    status: str
    business_status: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MessageInfo:
    id: str
    direction: str
    kind: str
    author_label: str | None
    body: str
    created_at: datetime


def _info(request: Request, reference: str) -> TaskInfo:
    return TaskInfo(request.id, request.thread_id, reference, request.event, request.status,
                    request.business_status, request.created_at, request.updated_at)


def updated_clause(comparator: str, moment: datetime) -> ColumnElement[bool]:
    column = Request.updated_at
    return {"gt": column > moment, "ge": column >= moment, "lt": column < moment, "le": column <= moment,
            "eq": column == moment}[comparator]


class ClientTasks:
    def __init__(self, db: Database, sealer: Sealer, audit: AuditLog, consent: ConsentDeps | None = None) -> None:
        self.db, self.sealer, self.audit = db, sealer, audit
        self.consent = consent  # the consent gate's dependencies (hub.consent): None only in bare tools

    async def owned(self, client_id: str, task_id: str) -> TaskInfo | None:
        async with self.db.session() as session:
            row = (await session.execute(
                select(Request, Thread.reference).join(Thread, Thread.id == Request.thread_id)
                .where(Request.id == task_id, Thread.client_id == client_id))).first()
        return None if row is None else _info(row[0], row[1])

    async def read(self, client_id: str, task_id: str, actor: Actor) -> TaskInfo | None:
        async with self.db.session() as session, session.begin():
            row = (await session.execute(
                select(Request, Thread.reference).join(Thread, Thread.id == Request.thread_id)
                .where(Request.id == task_id, Thread.client_id == client_id))).first()
            if row is None:  # refused reads are audited like the inbox's
                await self.audit.record(session, actor=actor, action="read", entity_type="Task",
                                        entity_id=task_id[:64], outcome="denied", detail="not this client's Task")
                return None
            await self.audit.record(session, actor=actor, action="read", entity_type="Task", entity_id=task_id)
        return _info(row[0], row[1])

    async def search(self, client_id: str, statuses: list[str], updated: list[tuple[str, datetime]], count: int,
                     actor: Actor) -> list[TaskInfo]:
        query = (select(Request, Thread.reference).join(Thread, Thread.id == Request.thread_id)
                 .where(Thread.client_id == client_id))
        if statuses:
            query = query.where(Request.status.in_(statuses))
        for comparator, moment in updated:
            query = query.where(updated_clause(comparator, moment))
        query = query.order_by(Request.updated_at.desc(), Request.id).limit(count)
        async with self.db.session() as session, session.begin():
            rows = (await session.execute(query)).all()
            for request, _ in rows:
                await self.audit.record(session, actor=actor, action="read", entity_type="Task",
                                        entity_id=request.id, detail="search")
        return [_info(request, reference) for request, reference in rows]

    async def communications(self, client_id: str, task_id: str, actor: Actor) -> list[MessageInfo] | None:
        async with self.db.session() as session, session.begin():
            request = (await session.execute(
                select(Request).join(Thread, Thread.id == Request.thread_id)
                .where(Request.id == task_id, Thread.client_id == client_id))).scalar_one_or_none()
            if request is None:
                await self.audit.record(session, actor=actor, action="read", entity_type="Communication",
                                        entity_id=task_id[:64], outcome="denied", detail="not this client's Task")
                return None
            # the physicians' answers leave the hub now: the consent gate again (a withdrawal since they were
            # written keeps them in; the client still sees its own messages)
            refused = None if self.consent is None else await check_transfer(
                self.consent, session, request, reply_purpose(request.event, request.requester_kind, "fhir"), actor,
                "lecture des réponses")
            own = (Message.direction == "in") & (Message.channel == "fhir")
            messages = (await session.execute(
                select(Message).where(Message.thread_id == request.thread_id,
                                      own if refused is not None else or_(
                                          (Message.direction == "out") & (Message.kind != "recommendation"), own))
                .order_by(Message.created_at, Message.id))).scalars().all()
            out = []
            for m in messages:
                body = await self.sealer.open_text(session, m.data_key_id, "messages", m.id, "body", m.body_enc)
                out.append(MessageInfo(m.id, m.direction, m.kind, m.author_label, body, m.created_at))
                await self.audit.record(session, actor=actor, action="read", entity_type="Communication",
                                        entity_id=m.id, detail=f"Task {task_id}")
        return out

    async def message_raw(self, message_id: str) -> tuple[str, bytes] | None:
        async with self.db.session() as session:
            message = await session.get(Message, message_id)
            if message is None:
                return None
            raw = await self.sealer.open(session, message.data_key_id, "messages", message.id, "raw",
                                         message.raw_enc) if message.raw_enc else b""
        return message.thread_id, raw
