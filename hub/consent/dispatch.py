"""Sending pré-reprise recommendations: the worker's notice first, each letter when due, through the gate again.

Contract:
- ``await worker_notice(hub, session, thread, request, review, due)`` queues the email that tells the worker what
  will be sent, to whom, when, and how to object (no content of the letters, no clinical data).
- ``await deliver_row(hub, session, row, request, thread)`` passes ``row`` (a ``Recommendation``) through the
  consent gate (``hub.consent.gate.check_transfer``) once more and hands its letter to its channel
  (``hub.trust.letters``; status ``sent``): an outbox row of kind ``mssante`` for the médecin conseil at an MSSanté
  address, else a secure pickup of the letter message (``hub.pickup.service.create_pickup``: the email holds only
  the link). Both carry the consent purpose, checked a third time when the content actually leaves (the outbox
  worker, the pickup's steps). It marks the row ``refused`` (audited by the gate) when the worker objected
  meanwhile. A row written before letters were thread messages gets its message now.
- ``await letter_message(hub, session, request, via, body, author)`` adds the letter to the thread
  (direction ``out``, kind ``recommendation``, channel ``mssante`` or ``retrait``) and returns its id.
- ``await dispatch_due(hub)`` does so for every scheduled row whose ``due_at`` has passed, one transaction each;
  ``RecommendationsWorker(hub).run()`` calls it periodically (``guichet serve``, role ``worker``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import clock
from hub.audit import SYSTEM
from hub.consent.gate import check_transfer
from hub.consent.purposes import LETTER_RECIPIENTS
from hub.outbox import ConsentTag, OutboundEmail
from hub.pickup.service import create_pickup
from hub.store.models import Message, Recommendation, Request, Thread, ThreadAlias, new_id, utcnow
from hub.trust.letters import CHANNEL_OF, letter_route

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger(__name__)


async def worker_notice(hub: Hub, session: AsyncSession, thread: Thread, request: Request, review: Any,
                        due: datetime) -> None:
    if not review.worker_email:
        return
    whom = " et ".join(x.label for x in review.letters)
    when = "dès maintenant" if review.delay_hours <= 0 else f"le {clock.fr_datetime(due)}"
    text = (f"Bonjour,\n\nÀ la suite de votre visite de pré-reprise (référence {thread.reference}), le médecin du "
            f"travail va transmettre ses recommandations (aménagements de poste, formation, reclassement…) à "
            f"{whom}, {when}. Elles ne contiennent aucune information médicale.\n\n"
            "Vous pouvez vous opposer à cette transmission : depuis la page de suivi de votre demande (le lien reçu "
            "lors de son envoi), ou en contactant votre service de santé au travail.\n\n"
            "Guichet unique santé au travail\n")
    hub.outbox.enqueue_email(session, "reco-notice", OutboundEmail(
        to=[review.worker_email], subject=f"[{thread.reference}] Transmission des recommandations du médecin du "
                                          "travail", text=text, from_addr=hub.settings.address,
        headers={"Auto-Submitted": "auto-generated"}), thread_id=thread.id)


async def letter_message(hub: Hub, session: AsyncSession, request: Request, via: str, body: str, author: str
                         ) -> str:
    message_id, key = new_id(), hub.sealer.new_key(session)
    session.add(Message(id=message_id, thread_id=request.thread_id, request_id=request.id, direction="out",
                        kind="recommendation", channel=CHANNEL_OF[via], author_label=author[:200],
                        data_key_id=key.id, created_at=utcnow(),
                        body_enc=hub.sealer.seal(key, "messages", message_id, "body", body)))
    await session.flush()
    return message_id


async def deliver_row(hub: Hub, session: AsyncSession, row: Recommendation, request: Request, thread: Thread
                      ) -> str:
    purpose, label = LETTER_RECIPIENTS[row.recipient]
    refused = await check_transfer(hub, session, request, purpose, SYSTEM, f"recommandations à {label}")
    if refused is not None:
        row.status = "refused"
        return row.status
    content = await hub.sealer.open_json(session, row.data_key_id, "recommendations", row.id, "content",
                                         row.content_enc)
    via = content.get("via") or await letter_route(session, hub.settings, row.recipient, content["to"])
    if row.message_id is None:
        row.message_id = await letter_message(hub, session, request, via, content["body"],
                                              content.get("author") or "le médecin du travail")
    consent = ConsentTag(purpose, request.id, row.message_id)
    if via == "mssante":
        ref = f"<reco.{row.id}@{hub.settings.address_domain}>"
        session.add(ThreadAlias(rfc822_id=ref, thread_id=thread.id))  # an answer comes back to this thread
        hub.outbox.enqueue_email(session, "recommendation", OutboundEmail(
            to=[content["to"]], subject=content["subject"], text=content["body"], from_addr=hub.settings.address,
            headers={"Message-ID": ref}), thread_id=thread.id, kind="mssante", consent=consent)
    else:
        await create_pickup(hub, session, thread, row.message_id, content["to"], "unverified", consent=consent)
    row.status, row.sent_at = "sent", utcnow()
    await hub.audit.record(session, actor=SYSTEM, action="transfer", entity_type="Recommendation",
                           entity_id=row.id, detail=f"to {row.recipient} via {via}; request {request.id}")
    return row.status


async def dispatch_due(hub: Hub, batch: int = 50) -> int:
    async with hub.db.session() as session:
        ids = list((await session.execute(
            select(Recommendation.id).where(Recommendation.status == "scheduled", Recommendation.due_at <= utcnow())
            .order_by(Recommendation.due_at).limit(batch))).scalars())
    done = 0
    for row_id in ids:
        async with hub.db.session() as session, session.begin():
            query = select(Recommendation).where(Recommendation.id == row_id, Recommendation.status == "scheduled")
            if hub.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            row = (await session.execute(query)).scalar_one_or_none()
            if row is None:
                continue
            request = await session.get(Request, row.request_id)
            thread = await session.get(Thread, request.thread_id) if request else None
            if request is None or thread is None:
                continue
            await deliver_row(hub, session, row, request, thread)
            done += 1
    if done:
        hub.outbox.wakeup.set()
    return done


class RecommendationsWorker:
    def __init__(self, hub: Hub, every_seconds: float = 60.0) -> None:
        self.hub = hub
        self.every_seconds = every_seconds
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await dispatch_due(self.hub)
            except Exception:  # noqa: BLE001 - storage down: try again at the next pass
                log.exception("recommendations dispatch failed")
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self.every_seconds)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stopping.set()
