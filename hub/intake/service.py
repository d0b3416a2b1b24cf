"""Intake: store a new request (or a message on an existing thread), route it, audit it, queue its notices.

Contract:
- ``await intake.submit(draft, actor, today=None)`` first runs the legal checks (``hub.intake.law``) under the
  draft channel's policy: on a refusing channel (forms, FHIR API) a violation raises :class:`IntakeRefused` with
  the typed violations (each reason counted for the indicators, ``hub.indicators.refusals``) — unless this very
  ``source_key`` was accepted earlier, whose answer stands —; on a triage
  channel (email, MSSanté) the request is kept, sent to the triage queue and the reasons recorded in its routing
  decision. Then it commits, in one transaction (shared with concurrent submits: group
  commit; it returns only after that commit): thread, request (Task + encrypted focus),
  the first message with its attachments, lookup hashes, the consent record, the routing decision, the audit
  entry and the outbox rows (acknowledgement, physician notification). It returns an :class:`IntakeResult`.
  Submitting the same ``source_key`` again returns the first result with ``created=False``: one request only;
  with another ``body_digest`` than the first it raises :class:`IntakeConflict`.
- ``await intake.add_message(draft, actor)`` appends to a thread (same idempotency by ``source_key``) and puts
  a request that waited for the sender back into the physician's "to do".
Otherwise raises only on storage failure; the caller then tells its sender to retry.
The service receives what it uses (database, router, sealer, hasher, audit, notices, outbox) from the
composition root; it does not know the ``Hub``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub import clock
from hub.audit import Actor, AuditLog
from hub.consent.intake import on_intake
from hub.crypto.lookup import LookupHasher
from hub.indicators.refusals import record_refusal
from hub.intake.drafts import MessageDraft, RequestDraft
from hub.intake.errors import IntakeConflict, IntakeRefused
from hub.intake.law import REFUSE, TRIAGE, Violation, check_request, consequence
from hub.intake.rows import add_consent, add_message_row, lookup_digests
from hub.notices import Notices
from hub.outbox import Outbox
from hub.references import new_follow_up_token, new_reference, new_reply_token, token_digest
from hub.routing import Decision, Router
from hub.routing.record import record_decision, routing_facts
from hub.routing.rules.base import triage
from hub.store.db import Database
from hub.store.models import (
    Message,
    Request,
    RequestLookup,
    RoutingDecision,
    Thread,
    new_id,
    utcnow,
)
from hub.store.sealing import Sealer

LAW_RULE = "law"


@dataclass
class IntakeResult:
    request_id: str
    thread_id: str
    reference: str
    status: str
    created: bool
    rule: str
    in_triage: bool
    follow_up_token: str | None = None
    reply_token: str | None = None
    violations: list[Violation] = field(default_factory=list)  # recorded (triage channels), never refused


@dataclass
class Item:
    """A draft waiting for the next group commit, with the legal violations recorded for it."""

    draft: RequestDraft
    actor: Actor
    violations: list[Violation]


@dataclass
class MessageResult:
    message_id: str
    thread_id: str
    created: bool


REQUESTER_LABELS_FR = {
    "worker": "Salarié(e)", "gp": "Médecin traitant", "specialist": "Médecin spécialiste", "employer": "Employeur",
    "partner": "Partenaire du maintien en emploi", "medecin_conseil": "Médecin conseil",
    "mdt": "Médecin du travail", "coordinator": "Coordination CPTS/DAC", "other": "Autre demandeur",
}


def requester_label(kind: str) -> str:
    """The clear-text label of a requester: their role, never their name."""
    return REQUESTER_LABELS_FR.get(kind, REQUESTER_LABELS_FR["other"])


def law_decision(decision: Decision, channel: str, violations: list[Violation]) -> Decision:
    """A request kept despite legal violations: the codes recorded in the decision's facts and, when one of them
    sends it there (``law.consequence``), the triage queue with the reasons and where routing pointed."""
    facts: dict[str, Any] = {**decision.facts, "law": [v.code for v in violations]}
    triaging = [v for v in violations if consequence(channel, v) == TRIAGE]
    if not triaging:
        decision.facts = facts
        return decision
    reasons = " ; ".join(v.fr.split(" : ")[0].split(" (")[0].rstrip(".") for v in triaging)
    facts["routed"] = decision.rule
    return triage(LAW_RULE, f"à vérifier avant prise en charge : {reasons}"[:300], facts, decision.employer_id)


class IntakeService:
    """See the module docstring. Concurrent ``submit`` calls are committed together (group commit): while one
    transaction is in flight, new drafts queue, and the next transaction takes up to ``max_batch`` of them.
    Each caller still gets its answer only after the transaction holding its draft committed; a batch that
    fails is retried one draft per transaction, so one bad draft never costs the others."""

    def __init__(self, db: Database, router: Router, sealer: Sealer, hasher: LookupHasher, audit: AuditLog,
                 notices: Notices, outbox: Outbox, max_batch: int = 32) -> None:
        self.db, self.router, self.sealer, self.hasher = db, router, sealer, hasher
        self.audit, self.notices, self.outbox = audit, notices, outbox
        self.max_batch = max_batch
        self._queue: list[tuple[Item, asyncio.Future[IntakeResult]]] = []
        self._draining = False
        self._drainer: asyncio.Task[None] | None = None

    # -- new requests -------------------------------------------------------------------------------
    async def submit(self, draft: RequestDraft, actor: Actor, today: date | None = None) -> IntakeResult:
        violations = check_request(draft, today or clock.today())
        if violations and consequence(draft.channel) == REFUSE:
            earlier = await self.accepted(draft.source_key)  # accepted earlier (say, yesterday): its answer stands
            if earlier is None:
                await record_refusal(self.db, channel=draft.channel, event=draft.event,
                                     requester_kind=draft.requester.kind, reasons=[v.code for v in violations],
                                     client_id=draft.client_id)
                raise IntakeRefused(violations)
            result = earlier
        else:
            future: asyncio.Future[IntakeResult] = asyncio.get_running_loop().create_future()
            self._queue.append((Item(draft, actor, violations), future))
            if not self._draining:
                self._draining = True
                self._drainer = asyncio.get_running_loop().create_task(self._drain())  # kept: weakly held
            result = await future
        if not result.created and draft.body_digest is not None \
                and await self._stored_digest(result.request_id) != draft.body_digest:
            raise IntakeConflict(draft.source_key)
        return result

    async def accepted(self, source_key: str) -> IntakeResult | None:
        """The request an earlier submit with ``source_key`` created, if any."""
        async with self.db.session() as session:
            return await self._existing(session, source_key)

    async def _stored_digest(self, request_id: str) -> str | None:
        async with self.db.session() as session:
            row = await session.get(Request, request_id)
            if row is None:
                return None
            payload = await self.sealer.open_json(session, row.data_key_id, "requests", row.id, "payload",
                                                  row.payload_enc)
        digest = payload.get("body_digest") or (payload.get("extra") or {}).get("body_sha256")
        return str(digest) if digest else None

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
                try:
                    results = await self._commit_batch([item for item, _ in batch])
                except Exception:  # noqa: BLE001 - retry alone, so only the faulty draft fails
                    for item, future in batch:
                        try:
                            result = await self._commit_one(item)
                        except Exception as exc:  # noqa: BLE001 - handed to its caller
                            if not future.done():
                                future.set_exception(exc)
                        else:
                            if not future.done():
                                future.set_result(result)
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        if not future.done():
                            future.set_result(result)
                self.outbox.wakeup.set()
        finally:
            self._draining = False

    async def _commit_batch(self, items: list[Item]) -> list[IntakeResult]:
        results: list[IntakeResult] = []
        async with self.db.session() as session, session.begin():
            known = await self._existing_many(session, [item.draft.source_key for item in items])
            for item in items:
                result = known.get(item.draft.source_key)
                if result is None:  # the same key again in this batch gets the answer of a re-send
                    result = await self._create(session, item)
                    known[item.draft.source_key] = replace(result, created=False, follow_up_token=None,
                                                           violations=[])
                results.append(result)
        return results

    async def _commit_one(self, item: Item, tries: int = 3) -> IntakeResult:
        for attempt in range(tries):
            try:
                return (await self._commit_batch([item]))[0]
            except IntegrityError:  # another instance committed meanwhile: the same source_key, or a row
                async with self.db.session() as session, session.begin():  # numbered from the same max
                    again = await self._existing(session, item.draft.source_key)  # (a consent seq): try again
                if again is not None:
                    return again
                if attempt == tries - 1:
                    raise
        raise AssertionError("unreachable")

    async def _existing(self, session: AsyncSession, source_key: str) -> IntakeResult | None:
        return (await self._existing_many(session, [source_key])).get(source_key)

    async def _existing_many(self, session: AsyncSession, source_keys: list[str]) -> dict[str, IntakeResult]:
        """The requests already created for any of ``source_keys`` (one query for a whole batch)."""
        rows = (await session.execute(
            select(Request, Thread, RoutingDecision.rule).join(Thread, Thread.id == Request.thread_id)
            .outerjoin(RoutingDecision, (RoutingDecision.request_id == Request.id)
                       & RoutingDecision.current.is_(True))
            .where(Request.source_key.in_(sorted(set(source_keys))))
        )).all()
        return {request.source_key: IntakeResult(request.id, thread.id, thread.reference, request.status, False,
                                                 rule or "", request.in_triage, reply_token=thread.reply_token)
                for request, thread, rule in rows}

    async def _create(self, session: AsyncSession, item: Item) -> IntakeResult:
        draft, actor, now = item.draft, item.actor, utcnow()
        decision = await self.router.route(session, routing_facts(draft))
        if item.violations:
            decision = law_decision(decision, draft.channel, item.violations)
        follow_up = new_follow_up_token() if draft.channel == "form" else None
        thread = Thread(id=new_id(), reference=new_reference(), channel=draft.channel,
                        reply_token=new_reply_token(), client_id=draft.client_id,
                        follow_up_digest=token_digest(follow_up) if follow_up else None,
                        created_at=now, updated_at=now)
        session.add(thread)
        request_id = draft.extra.get("task_id") or new_id()
        key = self.sealer.new_key(session)
        seal = self.sealer.seal
        request = Request(
            id=request_id, thread_id=thread.id, event=draft.event, status="requested",
            source_key=draft.source_key, requester_kind=draft.requester.kind,
            requester_rpps=draft.requester.rpps,
            employer_siret=draft.employer.siret if draft.employer else None, data_key_id=key.id,
            subject_enc=seal(key, "requests", request_id, "subject", draft.subject),
            payload_enc=self.sealer.seal_json(key, "requests", request_id, "payload", draft.to_payload()),
            created_at=now, updated_at=now, last_activity_at=now,
        )
        session.add(request)
        message_id = add_message_row(
            self.sealer, session, thread.id, request_id, direction="in", kind="request", channel=draft.channel,
            author_label=requester_label(draft.requester.kind), author_name=draft.requester.name,
            body=draft.reason, raw=draft.raw,
            rfc822_id=draft.rfc822_id, attachments=draft.attachments, dedupe_key=None,
            trust=draft.trust, claimed_rpps=draft.claimed_rpps)
        for digest in lookup_digests(self.hasher, draft, thread.reference):
            session.add(RequestLookup(request_id=request_id, digest=digest))
        if draft.consent is not None and draft.worker is not None:
            add_consent(self.sealer, self.hasher, session, draft, request_id)
        await on_intake(self, session, draft, request_id, actor)  # the consent registry (hub.consent)
        await record_decision(session, request, decision, first=True, sealer=self.sealer, request_key=key.key)
        await self.audit.record(session, actor=actor, action="create", entity_type="Task", entity_id=request_id,
                                detail=f"{draft.event} via {draft.channel}; message {message_id}")
        await self.notices.on_new_request(session, thread, request, draft, decision, follow_up)
        return IntakeResult(request_id, thread.id, thread.reference, request.status, True, decision.rule,
                            decision.in_triage, follow_up_token=follow_up, reply_token=thread.reply_token,
                            violations=item.violations)

    # -- messages on existing threads ---------------------------------------------------------------
    async def add_message(self, draft: MessageDraft, actor: Actor) -> MessageResult:
        async with self.db.session() as session:
            try:
                async with session.begin():
                    found = (await session.execute(
                        select(Message.id).where(Message.dedupe_key == draft.source_key))).scalar_one_or_none()
                    if found is not None:
                        return MessageResult(found, draft.thread_id, False)
                    request = (await session.execute(
                        select(Request).where(Request.thread_id == draft.thread_id)
                        .order_by(Request.created_at).limit(1))).scalar_one_or_none()
                    message_id = add_message_row(
                        self.sealer, session, draft.thread_id, request.id if request else None, direction="in",
                        kind=draft.kind, channel=draft.channel, author_label=draft.author_role,
                        author_name=draft.author_label, body=draft.body,
                        raw=draft.raw, rfc822_id=draft.rfc822_id, attachments=draft.attachments,
                        dedupe_key=draft.source_key, trust=draft.trust, claimed_rpps=draft.claimed_rpps)
                    if request is not None:
                        request.last_activity_at = request.updated_at = utcnow()
                        if request.status == "on-hold" and draft.kind not in ("receipt", "bounce"):
                            request.status, request.business_status = "in-progress", "sender-answered"
                    await self.audit.record(session, actor=actor, action="create", entity_type="Communication",
                                            entity_id=message_id, detail=f"thread {draft.thread_id}")
                    if request is not None:
                        await self.notices.on_new_message(session, request, message_id)
            except IntegrityError:
                await session.rollback()
                async with session.begin():
                    found = (await session.execute(
                        select(Message.id).where(Message.dedupe_key == draft.source_key))).scalar_one_or_none()
                if found is None:
                    raise
                return MessageResult(found, draft.thread_id, False)
        self.outbox.wakeup.set()
        return MessageResult(message_id, draft.thread_id, True)
