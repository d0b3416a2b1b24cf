"""Opening a thread and downloading its attachments, for one viewer, audited.

Contract:
- ``await open_thread(hub, viewer, thread_id, source)`` returns a :class:`ThreadView` (the request with its
  decrypted payload, the current routing explanation, the decrypted history with attachment names, the actions
  the viewer may take now). In the same transaction: the read is audited (action ``read``, entity ``Task``), the
  thread is marked read for the viewer, and an owner opening a ``requested`` Task moves it to ``received``.
  A thread the viewer may not see raises ``NotFound`` (and the refusal is audited), exactly as a missing one.
  A viewer whose role lacks ``read-clinical`` gets the administrative part only (``hub.inbox.clinical``).
  ``consents``: the worker's current decision for each purpose relevant to the request (``hub.consent.states``),
  the same as the consent page shows this viewer, without authors or notes; each outbound message's ``delivery``
  says how it left or why it did not (``hub.consent.departures``: channel, pickup, letters, consent holds).
- ``await download(hub, viewer, attachment_id, source)`` returns ``(filename, content_type, content)`` under the
  same rule, audited (entity ``Attachment``); ``Forbidden`` without ``read-clinical``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.consent.departures import departure_lines
from hub.consent.states import ThreadConsent, thread_consents
from hub.inbox.access import Viewer, access
from hub.inbox.clinical import MASKED, administrative_payload
from hub.inbox.errors import THREAD_NOT_FOUND, Forbidden, NotFound
from hub.inbox.sealed import Cell, open_texts
from hub.inbox.task_status import KEEP, allowed, next_status
from hub.store.models import (
    Attachment,
    Message,
    Practitioner,
    Request,
    RoutingDecision,
    Team,
    Thread,
    ThreadRead,
    utcnow,
)
from hub.store.routing_text import open_decision, open_request_triage
from hub.trust.answers import AnswerRoute, answer_route
from hub.trust.labels import claimed_names, trust_label

if TYPE_CHECKING:
    from hub.core import Hub


@dataclass
class AttachmentView:
    id: str
    filename: str
    content_type: str
    size: int


@dataclass
class MessageView:
    id: str
    direction: str
    kind: str
    channel: str
    author: str
    created: datetime
    body: str
    attachments: list[AttachmentView] = field(default_factory=list)
    trust: str | None = None  # messages in: how far the hub stands behind the sender (hub.trust.labels)
    claim: str | None = None  # "se présente comme Dr …, non vérifié" when the text quotes an RPPS
    delivery: str | None = None  # messages out: how they left, or why not (hub.consent.departures)

    @property
    def trust_label(self) -> str | None:
        return trust_label(self.trust) if self.direction == "in" else None


@dataclass
class ThreadView:
    thread_id: str
    reference: str
    channel: str
    task_id: str
    event: str
    status: str
    business_status: str | None
    in_triage: bool
    triage_reason: str | None
    assignee: str | None
    team: str | None
    informed_team: str | None
    created: datetime
    last_activity: datetime
    subject: str
    payload: dict[str, Any]
    routing_rule: str | None
    routing_explanation: str | None
    routed_by: str | None
    messages: list[MessageView]
    access: str
    actions: list[str]
    answer_route: AnswerRoute | None = None  # where a reply would go (hub.trust.answers)
    consents: list[ThreadConsent] = field(default_factory=list)  # the worker's decisions (hub.consent.states)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.thread_id, "task_id": self.task_id, "reference": self.reference, "channel": self.channel,
            "event": self.event, "status": self.status, "business_status": self.business_status,
            "in_triage": self.in_triage, "triage_reason": self.triage_reason, "assignee": self.assignee,
            "team": self.team, "informed_team": self.informed_team, "created": self.created.isoformat(),
            "last_activity": self.last_activity.isoformat(), "subject": self.subject, "request": self.payload,
            "routing": {"rule": self.routing_rule, "explanation": self.routing_explanation,
                        "decided_by": self.routed_by},
            "messages": [{"id": m.id, "direction": m.direction, "kind": m.kind, "channel": m.channel,
                          "author": m.author, "created": m.created.isoformat(), "body": m.body,
                          "attachments": [{"id": a.id, "filename": a.filename, "content_type": a.content_type,
                                           "size": a.size, "href": f"/inbox/attachments/{a.id}"}
                                          for a in m.attachments],
                          "trust": (m.trust or "unverified") if m.direction == "in" else None,
                          "trust_label": m.trust_label, "claim": m.claim, "delivery": m.delivery}
                         for m in self.messages],
            "access": self.access, "actions": self.actions,
            "answer_route": self.answer_route.to_json() if self.answer_route else None,
            "consents": [c.to_json() for c in self.consents],
            "consents_href": f"/inbox/threads/{self.thread_id}/consentements",
        }


T = TypeVar("T")
Work = Callable[[AsyncSession, Thread, Request, str], Awaitable[T]]


async def find_visible(hub: Hub, session: AsyncSession, viewer: Viewer, thread_id: str, source: str | None,
                       for_update: bool = False) -> tuple[Thread, Request, str] | None:
    """The thread, its request and the viewer's access level; ``None`` (refusal audited) when not visible."""
    thread = await session.get(Thread, thread_id) if len(thread_id) <= 36 else None
    request = None
    if thread is not None:
        query = select(Request).where(Request.thread_id == thread.id).order_by(Request.created_at).limit(1)
        if for_update:
            query = query.with_for_update()
        request = (await session.execute(query)).scalar_one_or_none()
    level = access(viewer, request) if request is not None else None
    if thread is None or request is None or level is None:
        await hub.audit.record(session, actor=viewer.actor(source), action="read", entity_type="Thread",
                               entity_id=thread_id[:64], outcome="denied", detail="not visible to this user")
        return None
    return thread, request, level


async def with_visible(hub: Hub, viewer: Viewer, thread_id: str, source: str | None, work: Work[T],
                       for_update: bool = False) -> T:
    """Run ``work`` in one transaction on a thread the viewer may see; else commit the audited refusal and raise
    ``NotFound``. An exception raised by ``work`` rolls everything back."""
    async with hub.db.session() as session:
        async with session.begin():
            found = await find_visible(hub, session, viewer, thread_id, source, for_update)
            if found is not None:
                return await work(session, *found)
    raise NotFound(THREAD_NOT_FOUND)


async def open_thread(hub: Hub, viewer: Viewer, thread_id: str, source: str | None = None) -> ThreadView:
    async def work(session: AsyncSession, thread: Thread, request: Request, level: str) -> ThreadView:
        return await _open(hub, session, viewer, thread, request, level, source)

    return await with_visible(hub, viewer, thread_id, source, work)


async def _open(hub: Hub, session: AsyncSession, viewer: Viewer, thread: Thread, request: Request, level: str,
                source: str | None) -> ThreadView:
    messages = (await session.execute(
        select(Message).where(Message.thread_id == thread.id).order_by(Message.created_at, Message.id))).scalars().all()
    attachments = (await session.execute(
        select(Attachment).where(Attachment.message_id.in_([m.id for m in messages]))
        .order_by(Attachment.created_at, Attachment.id))).scalars().all() if messages else []
    cells: list[Cell] = [(request.data_key_id, "requests", request.id, "payload", request.payload_enc),
             (request.data_key_id, "requests", request.id, "subject", request.subject_enc)]
    cells += [(m.data_key_id, "messages", m.id, "body", m.body_enc) for m in messages]
    cells += [(a.data_key_id, "attachments", a.id, "filename", a.filename_enc) for a in attachments]
    cells += [(m.data_key_id, "messages", m.id, "author", m.author_enc) for m in messages]
    texts = await open_texts(hub, session, cells)
    payload = json.loads(texts[0])
    n, k = len(messages), len(attachments)
    subject, bodies, names, authors = texts[1], texts[2:2 + n], texts[2 + n:2 + n + k], texts[2 + n + k:]
    by_message: dict[str, list[AttachmentView]] = {}
    for att, name in zip(attachments, names, strict=True):
        by_message.setdefault(att.message_id, []).append(AttachmentView(att.id, name, att.content_type, att.size))
    if not viewer.reads_clinical:
        payload, bodies, by_message = administrative_payload(payload), [MASKED] * n, {}
    decision = (await session.execute(
        select(RoutingDecision).where(RoutingDecision.request_id == request.id, RoutingDecision.current.is_(True))
        .order_by(RoutingDecision.id.desc()).limit(1))).scalar_one_or_none()
    assignee = await session.get(Practitioner, request.assigned_practitioner_id) \
        if request.assigned_practitioner_id else None
    team = await session.get(Team, request.assigned_team_id) if request.assigned_team_id else None
    informed = await session.get(Team, request.informed_team_id) if request.informed_team_id else None
    now = utcnow()
    if level == "owner" and allowed("open", request.status):
        request.status, business = next_status("open", request.status)
        if business != KEEP:
            request.business_status = business
        request.updated_at = now
    await mark_read(session, viewer.user_id, thread.id, now)
    await hub.audit.record(session, actor=viewer.actor(source), action="read", entity_type="Task",
                           entity_id=request.id, detail=f"thread {thread.id}; consent state"
                           + ("" if viewer.reads_clinical else " (administrative part)"))
    claims = await claimed_names(session, [m.claimed_rpps for m in messages if m.claimed_rpps])
    deliveries = await departure_lines(session, thread.id) if any(m.direction == "out" for m in messages) else {}
    return ThreadView(
        thread_id=thread.id, reference=thread.reference, channel=thread.channel, task_id=request.id,
        event=request.event, status=request.status, business_status=request.business_status,
        in_triage=request.in_triage, triage_reason=await open_request_triage(hub.sealer, session, request),
        assignee=assignee.display_name if assignee else None, team=team.name if team else None,
        informed_team=informed.name if informed else None, created=request.created_at,
        last_activity=request.last_activity_at, subject=subject, payload=payload,
        routing_rule=decision.rule if decision else None,
        routing_explanation=(await open_decision(hub.sealer, session, decision)).explanation if decision else None,
        routed_by=decision.decided_by if decision else None,
        messages=[MessageView(m.id, m.direction, m.kind, m.channel, _author(m.author_label, name), m.created_at,
                              body, by_message.get(m.id, []), m.trust if m.direction == "in" else None,
                              claims.get(m.claimed_rpps) if m.claimed_rpps and m.direction == "in" else None,
                              deliveries.get(m.id))
                  for m, body, name in zip(messages, bodies, authors, strict=True)],
        access=level, actions=[a for a in viewer.actions_for(level) if allowed(a, request.status)],
        answer_route=await answer_route(hub, session, thread, request, payload),
        consents=await thread_consents(hub, session, request, thread.channel))


def _author(label: str | None, name: str) -> str:
    """The sender as shown: their name (stored encrypted) and their role (stored in clear)."""
    if name and label and name != label:
        return f"{name} ({label})"
    return name or label or ""


async def download(hub: Hub, viewer: Viewer, attachment_id: str, source: str | None = None
                   ) -> tuple[str, str, bytes]:
    async with hub.db.session() as session:
        async with session.begin():
            att = await session.get(Attachment, attachment_id) if len(attachment_id) <= 36 else None
            message = await session.get(Message, att.message_id) if att is not None else None
            found = await find_visible(hub, session, viewer, message.thread_id if message else "-", source)
            if att is not None and found is not None and not viewer.reads_clinical:
                raise Forbidden("Les pièces jointes sont réservées à l'équipe médicale.")
            if att is not None and found is not None:
                name = (await open_texts(hub, session, [
                    (att.data_key_id, "attachments", att.id, "filename", att.filename_enc)]))[0]
                content = await hub.sealer.open(session, att.data_key_id, "attachments", att.id, "content",
                                                att.content_enc)
                await hub.audit.record(session, actor=viewer.actor(source), action="read",
                                       entity_type="Attachment", entity_id=att.id, detail=f"thread {found[0].id}")
                return name, att.content_type, content
    raise NotFound("Pièce jointe introuvable.")


async def mark_read(session: AsyncSession, user_id: int, thread_id: str, when: datetime) -> None:
    """Record that ``user_id`` has seen ``thread_id`` up to ``when`` (unread counts compare with it)."""
    read = await session.get(ThreadRead, (user_id, thread_id))
    if read is None:
        session.add(ThreadRead(user_id=user_id, thread_id=thread_id, read_at=when))
    else:
        read.read_at = when
