"""The consent registry: per worker (keyed identity) and purpose, every decision kept, the last one current.

Contract (every function works in the caller's session and transaction, and takes a :class:`ConsentDeps` —
the sealer, the keyed hasher and the audit log: the ``Hub``, or a ``ConsentKeys``):
- ``await subject_key(hub, session, request)``: the keyed identity whose decisions govern ``request`` (computed at
  intake and kept in ``consent_subjects``; computed from the request's sealed payload for older requests).
- ``await record(hub, session, worker_key=…, purpose=…, decision=…, channel=…, author=…, actor=…)`` appends a
  decision (``seq`` = previous + 1), sealed, and audits it (entity ``Consent``: the purpose and channel, never
  the decision nor who). Raises ``Invalid`` (French) for an unknown purpose, decision or channel, or a date in
  the future — "today" is the date in France (``hub.clock.today()``), as the forms and the users see it: between
  midnight in Paris and midnight UTC a decision dated today is not "in the future"; a decision without a date is
  dated today in France.
- ``await current(hub, session, worker_key)`` → ``{purpose: ConsentEntry}``, the last decision of each purpose;
  ``await latest(hub, session, worker_key, purpose)`` → that of one purpose (one indexed read: what the gate uses);
  ``await history(hub, session, worker_key)`` → every decision, oldest first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import clock
from hub.audit import Actor, AuditLog
from hub.consent.identity import worker_key as compute_key
from hub.consent.purposes import CHANNEL_FR, CHANNELS, DECISION_FR, DECISIONS, PURPOSE_FR, PURPOSES
from hub.crypto.lookup import LookupHasher
from hub.inbox.errors import Invalid
from hub.store.models import ConsentDecision, ConsentSubject, Request, new_id, utcnow
from hub.store.sealing import Sealer


class ConsentDeps(Protocol):
    """What the registry and the gate use: the ``Hub`` has it, so has any service holding these three."""

    sealer: Sealer
    hasher: LookupHasher
    audit: AuditLog


@dataclass
class ConsentKeys:
    """The three, for a service built bottom-up in the composition root."""

    sealer: Sealer
    hasher: LookupHasher
    audit: AuditLog


@dataclass(frozen=True)
class ConsentEntry:
    purpose: str
    decision: str
    on: date
    channel: str
    author: str
    note: str
    recorded_at: datetime
    seq: int
    request_id: str | None
    id: str = ""

    @property
    def purpose_fr(self) -> str:
        return PURPOSE_FR[self.purpose]

    @property
    def decision_fr(self) -> str:
        return DECISION_FR.get(self.decision, self.decision)

    @property
    def channel_fr(self) -> str:
        return CHANNEL_FR.get(self.channel, self.channel)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "purpose": self.purpose, "decision": self.decision, "date": self.on.isoformat(),
                "channel": self.channel, "author": self.author, "note": self.note,
                "recorded_at": self.recorded_at.isoformat(), "seq": self.seq, "request_id": self.request_id}


async def subject_key(hub: ConsentDeps, session: AsyncSession, request: Request) -> str:
    row = await session.get(ConsentSubject, request.id)
    if row is not None:
        return row.worker_key
    payload = await hub.sealer.open_json(session, request.data_key_id, "requests", request.id, "payload",
                                         request.payload_enc)
    key = compute_key(hub.hasher, payload.get("worker"), request.id)
    session.add(ConsentSubject(request_id=request.id, worker_key=key))
    return key


def validate(purpose: str, decision: str, channel: str, on: date | None) -> None:
    if purpose not in PURPOSES:
        raise Invalid(f"Finalité inconnue : « {purpose[:40]} ». Finalités possibles : {', '.join(PURPOSES)}.")
    if decision not in DECISIONS:
        raise Invalid(f"Décision inconnue : « {decision[:20]} ». Décisions possibles : {', '.join(DECISIONS)}.")
    if channel not in CHANNELS:
        raise Invalid(f"Canal inconnu : « {channel[:20]} ». Canaux possibles : {', '.join(CHANNELS)}.")
    if on is not None and on > clock.today():
        raise Invalid("La date de la décision ne peut pas être dans le futur.")


async def record(hub: ConsentDeps, session: AsyncSession, *, worker_key: str, purpose: str, decision: str, channel: str,
                 author: str, actor: Actor, on: date | None = None, note: str = "",
                 request_id: str | None = None) -> ConsentEntry:
    validate(purpose, decision, channel, on)
    last = (await session.execute(select(func.max(ConsentDecision.seq)).where(
        ConsentDecision.worker_key == worker_key, ConsentDecision.purpose == purpose))).scalar_one_or_none()
    now, row_id, key = utcnow(), new_id(), hub.sealer.new_key(session)
    on = on or clock.today()
    details = {"decision": decision, "date": on.isoformat(), "channel": channel, "author": author[:200],
               "note": note[:2000]}
    seq = (last or 0) + 1
    session.add(ConsentDecision(
        id=row_id, worker_key=worker_key, purpose=purpose, seq=seq, request_id=request_id, recorded_at=now,
        data_key_id=key.id, details_enc=hub.sealer.seal_json(key, "consent_decisions", row_id, "details", details)))
    await hub.audit.record(session, actor=actor, action="create", entity_type="Consent", entity_id=row_id,
                           detail=f"purpose {purpose} via {channel}"
                                  + (f"; request {request_id}" if request_id else ""))
    return ConsentEntry(purpose, decision, on, channel, author[:200], note[:2000], now, seq, request_id, row_id)


async def _entry(hub: ConsentDeps, session: AsyncSession, row: ConsentDecision) -> ConsentEntry:
    d = json.loads(await hub.sealer.open_text(session, row.data_key_id, "consent_decisions", row.id, "details",
                                              row.details_enc))
    return ConsentEntry(row.purpose, d["decision"], date.fromisoformat(d["date"]), d["channel"], d.get("author", ""),
                        d.get("note", ""), row.recorded_at, row.seq, row.request_id, row.id)


async def history(hub: ConsentDeps, session: AsyncSession, worker_key: str) -> list[ConsentEntry]:
    rows = (await session.execute(select(ConsentDecision).where(ConsentDecision.worker_key == worker_key)
                                  .order_by(ConsentDecision.recorded_at, ConsentDecision.seq))).scalars().all()
    return [await _entry(hub, session, row) for row in rows]


async def latest(hub: ConsentDeps, session: AsyncSession, worker_key: str, purpose: str) -> ConsentEntry | None:
    """The current decision for one purpose (one indexed read of the last row), or None when none is recorded."""
    row = (await session.execute(select(ConsentDecision).where(
        ConsentDecision.worker_key == worker_key, ConsentDecision.purpose == purpose)
        .order_by(ConsentDecision.seq.desc()).limit(1))).scalar_one_or_none()
    return None if row is None else await _entry(hub, session, row)


async def current(hub: ConsentDeps, session: AsyncSession, worker_key: str) -> dict[str, ConsentEntry]:
    latest: dict[str, ConsentEntry] = {}
    for entry in await history(hub, session, worker_key):
        if entry.purpose not in latest or entry.seq > latest[entry.purpose].seq:
            latest[entry.purpose] = entry
    return latest
