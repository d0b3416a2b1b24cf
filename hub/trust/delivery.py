"""Carry a physician's answer (reply or question) out along the one decision of ``hub.trust.answers``.

Contract: ``await deliver_answer(hub, session, thread, request, message_id, kind, text, payload, in_reply_to,
confirmed, actor, author, purpose)`` runs in the caller's transaction, after the outbound message row was added and
flushed (``purpose``: the consent purpose the answer serves, ``hub.consent.purposes.reply_purpose``; the outbox
row or pickup carries it, so the worker's consent is checked again when the content actually leaves):
- decides the route (``answer_route``); an ``unverified`` sender without ``confirmed`` raises
  :class:`ConfirmationNeeded` (a ``Conflict``: nothing is written, the caller's transaction rolls back);
- ``email``: ``hub.notices.on_outbound`` (plain email, threaded, signed by ``author``: who wrote it, in what role);
  ``mssante``: the same composition, queued as an
  outbox row of kind ``mssante`` for the MSSanté transport (payload: ``OutboundEmail`` as a dict — ``to`` the
  MSSanté address, ``from_addr`` the guichet address, which that transport replaces by the BAL applicative,
  ``headers`` with Message-ID, Reply-To, In-Reply-To/References; rows wait until a ``mssante`` transport exists);
  ``pickup``: ``hub.pickup.service.create_pickup`` (a link email without health data); ``api`` and ``none``:
  nothing leaves (the API client reads it; no address);
- sets the message's ``channel`` to how it left (``email``, ``mssante``, ``retrait``, ``fhir``, ``inbox``) and
  audits the decision (never the address).
Returns the :class:`AnswerRoute`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import Actor
from hub.inbox.errors import Conflict
from hub.outbox import ConsentTag
from hub.pickup.service import create_pickup
from hub.store.models import Message, Request, Thread
from hub.trust.answers import AnswerRoute, answer_route

if TYPE_CHECKING:
    from hub.core import Hub

CHANNEL_OF = {"email": "email", "mssante": "mssante", "pickup": "retrait", "api": "fhir", "none": "inbox"}
CONFIRM_FIRST = ("L'adresse de l'expéditeur n'est pas vérifiée : confirmez l'envoi (case « Je confirme ») pour "
                 "que la réponse parte par retrait sécurisé.")


class ConfirmationNeeded(Conflict):
    """The sender is unverified and the physician has not confirmed the sending."""


async def deliver_answer(hub: Hub, session: AsyncSession, thread: Thread, request: Request, message_id: str,
                         kind: str, text: str, payload: dict[str, Any], in_reply_to: str | None, confirmed: bool,
                         actor: Actor, author: str | None = None, purpose: str | None = None) -> AnswerRoute:
    route = await answer_route(hub, session, thread, request, payload)
    if route.needs_confirmation and not confirmed:
        raise ConfirmationNeeded(CONFIRM_FIRST)
    message = await session.get(Message, message_id)
    if message is not None:
        message.channel = CHANNEL_OF[route.via]
    consent = ConsentTag(purpose, request.id, message_id) if purpose else None
    if route.via in ("email", "mssante"):
        await hub.notices.on_outbound(session, thread, request, message_id, kind, text, to=route.to,
                                      in_reply_to=in_reply_to, transport=route.via, author=author, consent=consent)
    elif route.via == "pickup" and route.to:
        await create_pickup(hub, session, thread, message_id, route.to, route.trust, consent=consent)
    confirmed_note = "; unverified sender, sending confirmed" if route.needs_confirmation else ""
    await hub.audit.record(session, actor=actor, action="update", entity_type="Communication", entity_id=message_id,
                           detail=f"{kind} via {route.via} (sender trust {route.trust}){confirmed_note}")
    return route
