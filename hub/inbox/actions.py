"""What a physician (or the triage coordinator) does on a thread: accept, reply, ask for information, reassign,
close. Each action is one transaction: the Task status (see ``hub.inbox.task_status``), the message if any, the
outbox row that carries it back (``hub.trust.delivery``: MSSanté, secure pickup or plain email, decided once),
the audit entry, and the actor's read mark. Writing to an unverified sender needs ``confirm_unverified``.

Contract: every function takes ``(hub, viewer, thread_id, …, source)`` and returns an :class:`ActionResult`;
raises ``NotFound`` (not visible), ``Forbidden`` (visible read-only, or the role's rights — ``hub.rights`` — do not
allow the action or, for ``close``, that kind of outcome), ``Conflict`` (status does not allow it) or ``Invalid``
(bad input) with a French message; nothing is changed when it raises. Every message written says who wrote it and
in what role (``hub.inbox.authorship``). A write-back to the sender (reply, ask-info) first passes the consent
gate (``hub.consent.gate``): ``ConsentRefused`` (403), audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.consent.gate import ConsentRefused, check_transfer
from hub.consent.purposes import reply_purpose
from hub.inbox.access import Viewer, actions_for
from hub.inbox.authorship import author_line
from hub.inbox.errors import Conflict, Forbidden, Invalid
from hub.inbox.reassign import Target, reassign_request
from hub.inbox.task_status import ACTION_LABELS, KEEP, OUTCOMES, next_status
from hub.inbox.threads import mark_read, with_visible
from hub.rights import close_right
from hub.store.models import CLOSED_STATUSES, Message, Request, Thread, new_id, utcnow
from hub.trust.delivery import deliver_answer

if TYPE_CHECKING:
    from hub.core import Hub

MAX_TEXT = 20_000
WHAT_FR = {"reply": "réponse à l'expéditeur", "info-request": "demande de précisions à l'expéditeur"}


@dataclass
class ActionResult:
    thread_id: str
    task_id: str
    status: str
    business_status: str | None
    message_id: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"id": self.thread_id, "task_id": self.task_id, "status": self.status,
                "business_status": self.business_status, "message_id": self.message_id}


def _text(text: str | None, what: str) -> str:
    value = (text or "").strip()
    if not value:
        raise Invalid(f"Le texte {what} est vide.")
    if len(value) > MAX_TEXT:
        raise Invalid(f"Le texte {what} dépasse {MAX_TEXT} caractères.")
    return value


async def _transition(hub: Hub, session: AsyncSession, viewer: Viewer, request: Request, level: str, action: str,
                      source: str | None, outcome: str | None = None, business_status: str | None = None,
                      detail: str = "") -> None:
    if action not in viewer.actions_for(level):
        if level == "informed":
            raise Forbidden("Votre équipe est seulement informée de cette demande : vous pouvez la consulter, pas "
                            "agir dessus.")
        if action in actions_for(level):
            raise Forbidden(f"Votre rôle ({viewer.role_label}) ne permet pas de {ACTION_LABELS[action]} cette "
                            "demande.")
        raise Forbidden(f"Action non permise : {ACTION_LABELS[action]} cette demande.")
    if action == "close" and outcome in OUTCOMES and not viewer.can(close_right(outcome, business_status)):
        raise Forbidden(f"Votre rôle ({viewer.role_label}) ne permet pas de clore avec une issue médicale : "
                        "choisissez « Transmise » ou une annulation, ou laissez le médecin du travail clore.")
    old = request.status
    status, business = next_status(action, request.status, outcome, business_status)
    now = utcnow()
    request.status = status
    if business != KEEP:
        request.business_status = business
    request.updated_at = request.last_activity_at = now
    if status in CLOSED_STATUSES:
        request.closed_at = now
    if action in ("reply", "ask-info") and request.first_answer_at is None:
        request.first_answer_at = now
    await mark_read(session, viewer.user_id, request.thread_id, now)
    await hub.audit.record(session, actor=viewer.actor(source), action="update", entity_type="Task",
                           entity_id=request.id, detail=f"{action}: {old} -> {status}{detail}")


async def _add_message(hub: Hub, session: AsyncSession, viewer: Viewer, thread: Thread, request: Request,
                       direction: str, kind: str, body: str) -> str:
    message_id, key = new_id(), hub.sealer.new_key(session)
    author = await author_line(session, viewer, request)
    session.add(Message(id=message_id, thread_id=thread.id, request_id=request.id, direction=direction, kind=kind,
                        channel=thread.channel if direction == "out" else "inbox", author_user_id=viewer.user_id,
                        author_label=author[:200], data_key_id=key.id,
                        body_enc=hub.sealer.seal(key, "messages", message_id, "body", body), created_at=utcnow()))
    return message_id


async def _send_out(hub: Hub, session: AsyncSession, viewer: Viewer, thread: Thread, request: Request, kind: str,
                    text: str, source: str | None = None, confirmed: bool = False, purpose: str | None = None
                    ) -> str:
    message_id = await _add_message(hub, session, viewer, thread, request, "out", kind, text)
    payload = await hub.sealer.open_json(session, request.data_key_id, "requests", request.id, "payload",
                                         request.payload_enc)
    last_in = (await session.execute(
        select(Message.rfc822_id).where(Message.thread_id == thread.id, Message.direction == "in",
                                        Message.rfc822_id.is_not(None))
        .order_by(Message.created_at.desc()).limit(1))).scalar_one_or_none()
    await session.flush()
    # where it may go (MSSanté, secure pickup, plain email, the API) is hub.trust's one decision
    await deliver_answer(hub, session, thread, request, message_id, kind, text, payload, last_in, confirmed,
                         viewer.actor(source), author=await author_line(session, viewer, request), purpose=purpose)
    return message_id


def _result(request: Request, message_id: str | None = None) -> ActionResult:
    return ActionResult(request.thread_id, request.id, request.status, request.business_status, message_id)


async def accept(hub: Hub, viewer: Viewer, thread_id: str, source: str | None = None) -> ActionResult:
    async def work(session: AsyncSession, thread: Thread, request: Request, level: str) -> ActionResult:
        await _transition(hub, session, viewer, request, level, "accept", source)
        return _result(request)

    return await with_visible(hub, viewer, thread_id, source, work, for_update=True)


async def reply(hub: Hub, viewer: Viewer, thread_id: str, text: str | None, source: str | None = None,
                confirm_unverified: bool = False) -> ActionResult:
    return await _write_back(hub, viewer, thread_id, _text(text, "de la réponse"), "reply", "reply", source,
                             confirm_unverified)


async def ask_info(hub: Hub, viewer: Viewer, thread_id: str, text: str | None, source: str | None = None,
                   confirm_unverified: bool = False) -> ActionResult:
    return await _write_back(hub, viewer, thread_id, _text(text, "de la demande de précisions"), "ask-info",
                             "info-request", source, confirm_unverified)


async def _write_back(hub: Hub, viewer: Viewer, thread_id: str, body: str, action: str, kind: str,
                      source: str | None, confirmed: bool = False) -> ActionResult:
    """A message from the physician to the sender (``action`` moves the Task; ``kind`` names the message).
    ``confirmed``: the physician confirmed sending to an unverified sender (else ``ConfirmationNeeded``)."""

    async def work(session: AsyncSession, thread: Thread, request: Request, level: str
                   ) -> ActionResult | ConsentRefused:
        purpose = reply_purpose(request.event, request.requester_kind, thread.channel)
        if action in actions_for(level):  # the consent gate (hub.consent.gate), whatever carries the message
            refused = await check_transfer(hub, session, request, purpose, viewer.actor(source), WHAT_FR[kind])
            if refused is not None:
                return refused  # its audit entry commits; nothing else changed
        await _transition(hub, session, viewer, request, level, action, source)
        # the purpose travels with the outbox row / pickup: checked again when the content leaves
        message_id = await _send_out(hub, session, viewer, thread, request, kind, body, source, confirmed, purpose)
        return _result(request, message_id)

    result = await with_visible(hub, viewer, thread_id, source, work, for_update=True)
    if isinstance(result, ConsentRefused):
        raise result
    hub.outbox.wakeup.set()
    return result


async def reassign(hub: Hub, viewer: Viewer, thread_id: str, target: Target, note: str | None = None,
                   source: str | None = None) -> ActionResult:
    async def work(session: AsyncSession, thread: Thread, request: Request, level: str) -> ActionResult:
        await _transition(hub, session, viewer, request, level, "reassign", source)
        described = await reassign_request(session, viewer, request, target, (note or "").strip()[:300],
                                           sealer=hub.sealer)
        if note and note.strip():
            await _add_message(hub, session, viewer, thread, request, "internal", "note", note.strip()[:MAX_TEXT])
        await hub.audit.record(session, actor=viewer.actor(source), action="update", entity_type="Task",
                               entity_id=request.id, detail=f"reassigned to {described}")
        return _result(request)

    return await with_visible(hub, viewer, thread_id, source, work, for_update=True)


async def close(hub: Hub, viewer: Viewer, thread_id: str, outcome: str | None, business_status: str | None = None,
                note: str | None = None, source: str | None = None) -> ActionResult:
    async def work(session: AsyncSession, thread: Thread, request: Request, level: str) -> ActionResult:
        await _transition(hub, session, viewer, request, level, "close", source, outcome=outcome,
                          business_status=business_status or None)
        if note and note.strip():
            await _add_message(hub, session, viewer, thread, request, "internal", "note", note.strip()[:MAX_TEXT])
        return _result(request)

    return await with_visible(hub, viewer, thread_id, source, work, for_update=True)


async def reroute(hub: Hub, viewer: Viewer, thread_id: str, source: str | None = None) -> ActionResult:
    """Run the routing rules again on this request (after a directory change): ``hub.routing.reroute``."""
    from hub.routing.reroute import RerouteError
    from hub.routing.reroute import reroute as run_rules

    async def check(session: AsyncSession, thread: Thread, request: Request, level: str) -> str:
        if "reassign" not in actions_for(level):
            raise Forbidden("Votre équipe est seulement informée de cette demande : vous pouvez la consulter, pas "
                            "la réorienter.")
        if not viewer.can("reroute"):
            raise Forbidden(f"Votre rôle ({viewer.role_label}) ne permet pas de réorienter cette demande.")
        next_status("reassign", request.status)  # a closed request is not re-routed
        return request.id

    request_id = await with_visible(hub, viewer, thread_id, source, check)
    try:
        await run_rules(hub, request_id, viewer.actor(source))
    except RerouteError as exc:
        raise Conflict(f"Réorientation impossible : {exc}.") from exc
    async with hub.db.session() as session:
        request = await session.get(Request, request_id)
        assert request is not None
        return _result(request)
