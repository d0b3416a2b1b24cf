"""Sending pré-reprise recommendations: the worker's notice first, each letter when due, through the gate again.

Contract:
- ``await worker_notice(hub, session, thread, request, review, due)`` queues the email that tells the worker what
  will be sent, to whom, when, and how to object (no content of the letters, no clinical data).
- ``await deliver_row(hub, session, row, request, thread)`` passes ``row`` (a ``Recommendation``) through the
  consent gate (``hub.consent.gate.check_transfer``) once more and queues its email (status ``sent``), or marks it
  ``refused`` (audited by the gate) when the worker objected meanwhile.
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

from hub.audit import SYSTEM
from hub.consent.gate import check_transfer
from hub.outbox import OutboundEmail
from hub.store.models import Recommendation, Request, Thread, utcnow

if TYPE_CHECKING:
    from hub.core import Hub

log = logging.getLogger(__name__)
PURPOSE_OF = {"employer": "recommendations-employer", "medecin-conseil": "recommendations-medecin-conseil"}
LABEL_OF = {"employer": "l'employeur", "medecin-conseil": "le médecin conseil"}


def _paris(when: datetime) -> str:
    from zoneinfo import ZoneInfo
    return when.astimezone(ZoneInfo("Europe/Paris")).strftime("%d/%m/%Y à %H:%M")


async def worker_notice(hub: Hub, session: AsyncSession, thread: Thread, request: Request, review: Any,
                        due: datetime) -> None:
    if not review.worker_email:
        return
    whom = " et ".join(x.label for x in review.letters)
    when = "dès maintenant" if review.delay_hours <= 0 else f"le {_paris(due)}"
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


async def deliver_row(hub: Hub, session: AsyncSession, row: Recommendation, request: Request, thread: Thread
                      ) -> str:
    refused = await check_transfer(hub, session, request, PURPOSE_OF[row.recipient], SYSTEM,
                                   f"recommandations à {LABEL_OF[row.recipient]}")
    if refused is not None:
        row.status = "refused"
        return row.status
    content = await hub.sealer.open_json(session, row.data_key_id, "recommendations", row.id, "content",
                                         row.content_enc)
    hub.outbox.enqueue_email(session, "recommendation", OutboundEmail(
        to=[content["to"]], subject=content["subject"], text=content["body"], from_addr=hub.settings.address,
        headers={"Auto-Submitted": "auto-generated"}), thread_id=thread.id)
    row.status, row.sent_at = "sent", utcnow()
    await hub.audit.record(session, actor=SYSTEM, action="transfer", entity_type="Recommendation",
                           entity_id=row.id, detail=f"to {row.recipient}; request {request.id}")
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
