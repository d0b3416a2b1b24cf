"""The consent registry seen from one request of the inbox: read it, record a decision (after a call, a letter…).

Contract:
- ``await consents_of(hub, viewer, thread_id, source)`` → :class:`ConsentView` (every purpose with its current
  decision and whether content may leave for it, the whole history), under the inbox's visibility rule
  (``NotFound`` otherwise), the read audited (entity ``Consent``).
- ``await record_for(hub, viewer, thread_id, purpose, decision, channel, on, note, source)`` appends a decision
  for the request's worker, authored by the viewer; an informed team may only read (``Forbidden``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.consent import registry
from hub.consent.purposes import CHANNEL_FR, DECISION_FR, POLICY, PURPOSE_FR, PURPOSES, allows
from hub.inbox.access import Viewer
from hub.inbox.errors import Forbidden, Invalid
from hub.inbox.threads import with_visible
from hub.store.models import Recommendation, Request, Thread

if TYPE_CHECKING:
    from hub.core import Hub


@dataclass(frozen=True)
class PurposeState:
    purpose: str
    label: str
    policy: str
    entry: registry.ConsentEntry | None
    allowed: bool

    def to_json(self) -> dict[str, Any]:
        return {"purpose": self.purpose, "policy": self.policy, "allowed": self.allowed,
                "current": self.entry.to_json() if self.entry else None}


@dataclass(frozen=True)
class Delivery:
    """A pré-reprise recommendation letter of this request: to whom, where it stands (no content)."""

    recipient: str
    status: str  # scheduled | sent | refused | held
    due_at: datetime
    sent_at: datetime | None

    @property
    def label(self) -> str:
        return {"employer": "l'employeur", "medecin-conseil": "le médecin conseil"}.get(self.recipient,
                                                                                      self.recipient)

    @property
    def status_fr(self) -> str:
        return {"scheduled": "programmé", "sent": "envoyé", "refused": "refusé (opposition du salarié)",
                "held": "retenu au départ (le salarié a retiré son accord après l'envoi)"}.get(self.status, self.status)


@dataclass(frozen=True)
class ConsentView:
    thread_id: str
    task_id: str
    reference: str
    event: str
    may_record: bool
    purposes: list[PurposeState]
    history: list[registry.ConsentEntry]
    deliveries: list[Delivery]

    def state(self, purpose: str) -> PurposeState:
        return next(p for p in self.purposes if p.purpose == purpose)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.thread_id, "task_id": self.task_id, "reference": self.reference,
                "purposes": [p.to_json() for p in self.purposes],
                "history": [e.to_json() for e in self.history],
                "recommendations": [{"recipient": d.recipient, "status": d.status, "due_at": d.due_at.isoformat(),
                                     "sent_at": d.sent_at.isoformat() if d.sent_at else None}
                                    for d in self.deliveries]}


CHOICES = {"purposes": PURPOSE_FR, "decisions": DECISION_FR, "channels": CHANNEL_FR}


async def view_of(hub: Hub, session: AsyncSession, request: Request, thread: Thread, level: str) -> ConsentView:
    key = await registry.subject_key(hub, session, request)
    history = await registry.history(hub, session, key)
    latest: dict[str, registry.ConsentEntry] = {}
    for entry in history:
        if entry.purpose not in latest or entry.seq > latest[entry.purpose].seq:
            latest[entry.purpose] = entry
    states = [PurposeState(p, PURPOSE_FR[p], POLICY[p], latest.get(p),
                           allows(p, latest[p].decision if p in latest else None)) for p in PURPOSES]
    rows = (await session.execute(select(Recommendation).where(Recommendation.request_id == request.id)
                                  .order_by(Recommendation.created_at, Recommendation.recipient))).scalars().all()
    deliveries = [Delivery(r.recipient, r.status, r.due_at, r.sent_at) for r in rows]
    return ConsentView(thread.id, request.id, thread.reference, request.event, level in ("owner", "triage"),
                       states, history, deliveries)


async def consents_of(hub: Hub, viewer: Viewer, thread_id: str, source: str | None = None) -> ConsentView:
    async def work(session: AsyncSession, thread: Thread, request: Request, level: str) -> ConsentView:
        view = await view_of(hub, session, request, thread, level)
        await hub.audit.record(session, actor=viewer.actor(source), action="read", entity_type="Consent",
                               entity_id=request.id, detail=f"consent registry of thread {thread.id}")
        return view

    return await with_visible(hub, viewer, thread_id, source, work)


def parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise Invalid("Date invalide : utilisez le format AAAA-MM-JJ.") from None


async def record_for(hub: Hub, viewer: Viewer, thread_id: str, purpose: str, decision: str, channel: str,
                     on: date | None = None, note: str = "", source: str | None = None) -> registry.ConsentEntry:
    async def work(session: AsyncSession, thread: Thread, request: Request, level: str) -> registry.ConsentEntry:
        if level not in ("owner", "triage"):
            raise Forbidden("Votre équipe est seulement informée de cette demande : vous pouvez consulter le "
                            "registre des consentements, pas y enregistrer une décision.")
        key = await registry.subject_key(hub, session, request)
        return await registry.record(hub, session, worker_key=key, purpose=purpose, decision=decision,
                                     channel=channel, author=viewer.label, actor=viewer.actor(source), on=on,
                                     note=note.strip(), request_id=request.id)

    return await with_visible(hub, viewer, thread_id, source, work, for_update=True)
