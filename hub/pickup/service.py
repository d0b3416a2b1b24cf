"""Secure pickup: create one with a clinical answer, then let its correspondent open, unlock, read and answer.

Contract:
- ``await create_pickup(hub, session, thread, message_id, to, trust, consent=None)`` (caller's transaction): a
  pickup of the outbound message ``message_id`` (a physician's answer, or a pré-reprise letter: its ``kind`` says
  which, and the link email words it) for address ``to``, valid ``settings.pickup_days`` days; queues the link
  email (``hub.pickup.mails``). ``consent`` (``hub.outbox.ConsentTag``): the consent purpose the content serves,
  kept on the pickup and on the link's outbox row. The link token is returned by nobody and stored only as a
  digest.
- Consent again: every step of the correspondent passes ``hub.consent.gate.check_transfer`` for the pickup's
  purpose (the content leaves at that moment). When the worker's decision now forbids it, the step is refused with
  a neutral French message (the correspondent — an employer, say — is not told that the worker objected), the
  pickup becomes ``held`` and, the first time, the thread says why (``hub.consent.outbound.tell_thread``); if the
  worker gives their consent again, the pickup works again.
- The correspondent's steps each run in one transaction, are audited (every opening: ``read`` of the ``Pickup``,
  of the ``Communication``, of an ``Attachment``; refusals with outcome ``denied``) and raise
  :class:`PickupError` (French message, HTTP status) when refused:
  ``open_link(hub, token, source)`` → :class:`PickupState`; ``send_code(hub, token, source)`` emails a fresh
  one-time code (6 digits, 30 minutes; at most 5 codes per pickup); ``check_code(hub, token, code, source)`` →
  a pickup-session secret (30 minutes) on success, else one attempt used (5 wrong codes lock the pickup);
  ``read(hub, token, secret, source)`` → :class:`PickupContent`; ``download(…, attachment_id)``;
  ``answer(hub, token, secret, text, nonce, source)`` adds the correspondent's answer to the same thread through
  ``hub.intake.add_message`` (trust: the pickup's), idempotent by ``nonce``.
An unknown, expired or locked link is refused alike, without saying which digest matched.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import Actor
from hub.consent.gate import check_transfer
from hub.consent.outbound import released, tell_thread, what_of
from hub.intake.drafts import MessageDraft
from hub.outbox import ConsentTag
from hub.pickup.mails import code_email, link_email
from hub.references import token_digest
from hub.store.models import Attachment, Message, Pickup, Request, Thread, ThreadAlias, new_id, utcnow

if TYPE_CHECKING:
    from hub.core import Hub

CODE_MINUTES = 30
SESSION_MINUTES = 30
MAX_ATTEMPTS = 5
MAX_CODES = 5
MAX_TEXT = 20_000
AUTHOR_ROLE = "Correspondant (retrait sécurisé)"
GONE = ("Ce lien de retrait n'est pas valable, ou plus : il a expiré, a été bloqué après trop d'essais, ou est "
        "incomplet. Contactez le service de santé au travail en rappelant la référence de votre dossier.")
LOCKED = ("Code incorrect, 5 essais utilisés : ce lien est désormais bloqué. Contactez le service de santé au "
          "travail en rappelant la référence de votre dossier.")
RELOCK = "Votre accès a expiré : demandez un nouveau code pour lire la réponse."
WITHHELD = ("Ce document n'est plus disponible : sa transmission a été suspendue par le service de prévention et de "
            "santé au travail. Contactez le service en rappelant la référence de votre dossier.")


class PickupError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


@dataclass
class PickupState:
    reference: str
    status: str  # waiting | opened
    code_sent: bool
    attempts_left: int
    expires_at: datetime
    kind: str = "reply"  # of the waiting message: reply | info-request | recommendation


@dataclass
class PickupAttachment:
    id: str
    filename: str
    content_type: str
    size: int


@dataclass
class PickupContent:
    reference: str
    author: str
    created: datetime
    body: str
    kind: str
    attachments: list[PickupAttachment] = field(default_factory=list)


def _actor(pickup_id: str | None, source: str | None) -> Actor:
    return Actor(f"retrait:{pickup_id}" if pickup_id else "retrait:inconnu", source)


def _code_digest(hub: Hub, pickup_id: str, code: str) -> str:
    return hub.hasher.digest("pickup-code", f"{pickup_id} {code}")


async def create_pickup(hub: Hub, session: AsyncSession, thread: Thread, message_id: str, to: str, trust: str,
                        consent: ConsentTag | None = None) -> str:
    token, now, pickup_id = secrets.token_urlsafe(32), utcnow(), new_id()
    expires = now + timedelta(days=hub.settings.pickup_days)
    key = hub.sealer.new_key(session)
    message = await session.get(Message, message_id)
    session.add(Pickup(id=pickup_id, thread_id=thread.id, message_id=message_id, token_digest=token_digest(token),
                       trust=trust, data_key_id=key.id, consent_purpose=consent.purpose if consent else None,
                       recipient_enc=hub.sealer.seal(key, "pickups", pickup_id, "recipient", to),
                       codes_sent=0, attempts=0, status="waiting", expires_at=expires, created_at=now))
    email = link_email(hub.settings, to, thread.reference, token, expires, message.kind if message else "reply")
    ref = f"<pickup.{pickup_id}@{hub.settings.address_domain}>"
    session.add(ThreadAlias(rfc822_id=ref, thread_id=thread.id))
    email.headers["Message-ID"] = ref
    hub.outbox.enqueue_email(session, "pickup", email, thread_id=thread.id, consent=consent)
    return pickup_id


async def _find(hub: Hub, session: AsyncSession, token: str, source: str | None, what: str
                ) -> tuple[Pickup, Thread]:
    """The live pickup of ``token`` (row locked), else the refusal is audited and :class:`_Refused` raised."""
    pickup = None
    if 20 <= len(token) <= 100:
        query = select(Pickup).where(Pickup.token_digest == token_digest(token))
        if hub.db.is_postgres:
            query = query.with_for_update()
        pickup = (await session.execute(query)).scalar_one_or_none()
    thread = await session.get(Thread, pickup.thread_id) if pickup is not None else None
    if pickup is None or thread is None or pickup.status == "locked" or utcnow() >= pickup.expires_at:
        await hub.audit.record(session, actor=_actor(pickup.id if pickup else None, source), action="read",
                               entity_type="Pickup", entity_id=pickup.id if pickup else None, outcome="denied",
                               detail=f"{what}: link unknown, expired or locked")
        raise _Refused(GONE, 410 if pickup is not None else 404)
    if pickup.consent_purpose:
        await _consent_again(hub, session, pickup, source, what)
    return pickup, thread


async def _consent_again(hub: Hub, session: AsyncSession, pickup: Pickup, source: str | None, what: str) -> None:
    """The content leaves now: the worker's current decision for the pickup's purpose (``hub.consent.gate``)."""
    assert pickup.consent_purpose is not None
    message = await session.get(Message, pickup.message_id)
    request = await session.get(Request, message.request_id) if message and message.request_id else None
    if message is None or request is None:
        return
    label = what_of(message.kind, pickup.consent_purpose)
    refused = await check_transfer(hub, session, request, pickup.consent_purpose, _actor(pickup.id, source),
                                   f"{label}, retrait sécurisé ({what})")
    if refused is None:
        if pickup.status == "held":  # the worker agreed again
            pickup.status = "opened" if pickup.opened_at else "waiting"
            await released(session, pickup.message_id)
        return
    if pickup.status != "held":
        pickup.status = "held"
        await tell_thread(hub, session, request, refused, label, pickup.message_id, at_pickup=True)
    raise _Refused(WITHHELD, 403)


class _Refused(PickupError):
    """A refusal whose audit entry (and attempt count) must be committed: see :func:`_committing`."""


@asynccontextmanager
async def _committing(hub: Hub) -> AsyncIterator[AsyncSession]:
    """One transaction; a :class:`_Refused` raised inside is raised again only after the commit, so refusals
    stay audited and wrong codes stay counted."""
    refused: _Refused | None = None
    async with hub.db.session() as session:
        async with session.begin():
            try:
                yield session
            except _Refused as exc:
                refused = exc
    if refused is not None:
        raise refused


async def _state(session: AsyncSession, pickup: Pickup, thread: Thread) -> PickupState:
    message = await session.get(Message, pickup.message_id)
    return PickupState(thread.reference, pickup.status, pickup.code_digest is not None,
                       MAX_ATTEMPTS - pickup.attempts, pickup.expires_at, message.kind if message else "reply")


async def open_link(hub: Hub, token: str, source: str | None = None) -> PickupState:
    async with _committing(hub) as session:
        pickup, thread = await _find(hub, session, token, source, "open")
        await hub.audit.record(session, actor=_actor(pickup.id, source), action="read", entity_type="Pickup",
                               entity_id=pickup.id, detail="link opened")
        return await _state(session, pickup, thread)


async def send_code(hub: Hub, token: str, source: str | None = None) -> PickupState:
    async with _committing(hub) as session:
        pickup, thread = await _find(hub, session, token, source, "code")
        if pickup.codes_sent >= MAX_CODES:
            await hub.audit.record(session, actor=_actor(pickup.id, source), action="update", entity_type="Pickup",
                                   entity_id=pickup.id, outcome="denied", detail="too many codes asked")
            raise _Refused("Trop de codes ont déjà été demandés pour ce lien. Contactez le service de santé au "
                           "travail en rappelant la référence de votre dossier.", 429)
        code = f"{secrets.randbelow(1_000_000):06d}"
        pickup.code_digest = _code_digest(hub, pickup.id, code)
        pickup.code_expires_at = utcnow() + timedelta(minutes=CODE_MINUTES)
        pickup.codes_sent += 1
        to = (await hub.sealer.open(session, pickup.data_key_id, "pickups", pickup.id, "recipient",
                                    pickup.recipient_enc)).decode()
        hub.outbox.enqueue_email(session, "pickup-code", code_email(hub.settings, to, thread.reference, code,
                                                                    CODE_MINUTES), thread_id=thread.id)
        await hub.audit.record(session, actor=_actor(pickup.id, source), action="update", entity_type="Pickup",
                               entity_id=pickup.id, detail=f"one-time code sent ({pickup.codes_sent})")
        state = await _state(session, pickup, thread)
    hub.outbox.wakeup.set()
    return state


async def check_code(hub: Hub, token: str, code: str, source: str | None = None) -> str:
    given = "".join(c for c in code if c.isdigit())[:12]
    async with _committing(hub) as session:
        pickup, _ = await _find(hub, session, token, source, "code check")
        now = utcnow()
        if pickup.code_digest is None or pickup.code_expires_at is None or now >= pickup.code_expires_at:
            raise _Refused("Aucun code valable : demandez un nouveau code.", 400)
        if not hmac.compare_digest(pickup.code_digest, _code_digest(hub, pickup.id, given)):
            pickup.attempts += 1
            left = MAX_ATTEMPTS - pickup.attempts
            if left <= 0:
                pickup.status, pickup.code_digest, pickup.session_digest = "locked", None, None
            await hub.audit.record(session, actor=_actor(pickup.id, source), action="read", entity_type="Pickup",
                                   entity_id=pickup.id, outcome="denied",
                                   detail=f"wrong code ({pickup.attempts}/{MAX_ATTEMPTS})")
            raise _Refused(f"Code incorrect. Il vous reste {left} essai(s)." if left > 0 else LOCKED,
                           400 if left > 0 else 410)
        secret = secrets.token_urlsafe(32)
        pickup.session_digest = token_digest(secret)
        pickup.session_expires_at = now + timedelta(minutes=SESSION_MINUTES)
        pickup.code_digest, pickup.code_expires_at, pickup.attempts = None, None, 0
        pickup.status, pickup.opened_at = "opened", pickup.opened_at or now
        await hub.audit.record(session, actor=_actor(pickup.id, source), action="update", entity_type="Pickup",
                               entity_id=pickup.id, detail="one-time code accepted")
    return secret


async def _unlocked(hub: Hub, session: AsyncSession, token: str, secret: str | None, source: str | None,
                    what: str) -> tuple[Pickup, Thread]:
    pickup, thread = await _find(hub, session, token, source, what)
    live = (pickup.session_digest is not None and pickup.session_expires_at is not None and secret
            and utcnow() < pickup.session_expires_at
            and hmac.compare_digest(pickup.session_digest, token_digest(secret)))
    if not live:
        await hub.audit.record(session, actor=_actor(pickup.id, source), action="read", entity_type="Pickup",
                               entity_id=pickup.id, outcome="denied", detail=f"{what}: no pickup session")
        raise _Refused(RELOCK, 401)
    return pickup, thread


async def read(hub: Hub, token: str, secret: str | None, source: str | None = None) -> PickupContent:
    async with _committing(hub) as session:
        pickup, thread = await _unlocked(hub, session, token, secret, source, "read")
        message = await session.get(Message, pickup.message_id)
        assert message is not None
        body = (await hub.sealer.open(session, message.data_key_id, "messages", message.id, "body",
                                      message.body_enc)).decode()
        files = []
        for att in (await session.execute(select(Attachment).where(Attachment.message_id == message.id)
                                          .order_by(Attachment.created_at, Attachment.id))).scalars():
            name = (await hub.sealer.open(session, att.data_key_id, "attachments", att.id, "filename",
                                          att.filename_enc)).decode()
            files.append(PickupAttachment(att.id, name, att.content_type, att.size))
        await hub.audit.record(session, actor=_actor(pickup.id, source), action="read", entity_type="Communication",
                               entity_id=message.id, detail=f"read through pickup {pickup.id}")
        return PickupContent(thread.reference, message.author_label or "", message.created_at, body, message.kind,
                             files)


async def download(hub: Hub, token: str, secret: str | None, attachment_id: str, source: str | None = None
                   ) -> tuple[str, str, bytes]:
    async with _committing(hub) as session:
        pickup, _ = await _unlocked(hub, session, token, secret, source, "download")
        att = await session.get(Attachment, attachment_id) if len(attachment_id) <= 36 else None
        if att is None or att.message_id != pickup.message_id:
            raise _Refused("Pièce jointe introuvable.", 404)
        name = (await hub.sealer.open(session, att.data_key_id, "attachments", att.id, "filename",
                                      att.filename_enc)).decode()
        content = await hub.sealer.open(session, att.data_key_id, "attachments", att.id, "content", att.content_enc)
        await hub.audit.record(session, actor=_actor(pickup.id, source), action="read", entity_type="Attachment",
                               entity_id=att.id, detail=f"downloaded through pickup {pickup.id}")
        return name, att.content_type, content


async def answer(hub: Hub, token: str, secret: str | None, text: str, nonce: str, source: str | None = None
                 ) -> str:
    body = "\n".join(line.rstrip() for line in (text or "").strip().splitlines())
    if not body:
        raise PickupError("Votre réponse est vide.")
    if len(body) > MAX_TEXT:
        raise PickupError(f"Votre réponse dépasse {MAX_TEXT} caractères.")
    async with _committing(hub) as session:
        pickup, thread = await _unlocked(hub, session, token, secret, source, "answer")
        pickup_id, thread_id, trust = pickup.id, thread.id, pickup.trust
    key = "".join(c for c in nonce if c.isalnum() or c in "-_")[:48] or secrets.token_hex(8)
    result = await hub.intake.add_message(MessageDraft(
        thread_id=thread_id, channel="retrait", source_key=f"retrait:{pickup_id}:{key}", author_label="",
        body=body, kind="reply", author_role=AUTHOR_ROLE, trust=trust), _actor(pickup_id, source))
    return result.message_id
