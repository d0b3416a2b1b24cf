"""Routing text at rest: triage reasons, explanations and facts are sealed, never stored in clear.

Routing text can hold words typed or extracted from a letter (a physician's note when reassigning, an "employer"
the email extractor pulled out of a GP's free text, an employer name typed in a form), so it is health data.

Contract:
- ``decision_columns(sealer, session, triage_reason=…, explanation=…, facts=…)`` returns the column values of a
  new ``RoutingDecision`` (spread them into its constructor): a fresh data key of the decision's own
  (``data_key_id``) seals each field with ``"routing_decisions:<data_key_id>:<field>"`` as associated data; the
  clear columns are left NULL/empty.
- ``await set_request_triage(sealer, session, request, reason)`` sets ``requests.in_triage``/``triage_reason_enc``
  under the request's data key (``"requests:<id>:triage_reason"``).
- ``await open_decision(sealer, session, row)`` → :class:`RoutingText`; ``await open_request_triage(…)`` → the
  reason or ``None``. Rows written before revision 0003 (no ``data_key_id``) are read from the clear columns
  until ``await seal_legacy(db, sealer)`` (run by ``guichet migrate`` and ``guichet init``) seals them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crypto.envelope import Vault
from hub.store.db import Database
from hub.store.models import Request, RoutingDecision
from hub.store.sealing import Sealer, aad

DECISIONS = "routing_decisions"


@dataclass(frozen=True)
class RoutingText:
    triage_reason: str | None
    explanation: str
    facts: dict[str, Any] = field(default_factory=dict)


def decision_columns(sealer: Sealer, session: AsyncSession, *, triage_reason: str | None, explanation: str,
                     facts: dict[str, Any]) -> dict[str, Any]:
    key = sealer.new_key(session)
    facts_json = json.dumps(facts, ensure_ascii=False, sort_keys=True, default=str)
    return {
        "data_key_id": key.id, "triage_reason": None, "explanation": "", "facts": "{}",
        "triage_reason_enc": (sealer.seal(key, DECISIONS, key.id, "triage_reason", triage_reason)
                              if triage_reason is not None else None),
        "explanation_enc": sealer.seal(key, DECISIONS, key.id, "explanation", explanation),
        "facts_enc": sealer.seal(key, DECISIONS, key.id, "facts", facts_json),
    }


def seal_triage(key: bytes, request_id: str, reason: str | None) -> bytes | None:
    """The ciphertext of ``requests.triage_reason_enc`` under the request's (unwrapped) data key."""
    return None if reason is None else Vault.seal(key, reason, aad("requests", request_id, "triage_reason"))


async def set_request_triage(sealer: Sealer, session: AsyncSession, request: Request, reason: str | None,
                             key: bytes | None = None) -> None:
    """``key``: the request's unwrapped data key, when the caller holds it (else it is read)."""
    request.in_triage = reason is not None
    request.triage_reason = None
    if reason is None:
        request.triage_reason_enc = None
        return
    request.triage_reason_enc = seal_triage(key or await sealer.key(session, request.data_key_id), request.id,
                                            reason)


async def open_request_triage(sealer: Sealer, session: AsyncSession, request: Request) -> str | None:
    if request.triage_reason_enc is None:
        return request.triage_reason
    return await sealer.open_text(session, request.data_key_id, "requests", request.id, "triage_reason",
                                  request.triage_reason_enc)


async def open_decision(sealer: Sealer, session: AsyncSession, row: RoutingDecision) -> RoutingText:
    if row.data_key_id is None:
        facts = json.loads(row.facts or "{}")
        return RoutingText(row.triage_reason, row.explanation or "", facts if isinstance(facts, dict) else {})
    key = await sealer.key(session, row.data_key_id)

    def text(name: str, blob: bytes | None) -> str | None:
        if blob is None:
            return None
        return Vault.open_with(key, blob, aad(DECISIONS, row.data_key_id or "", name)).decode("utf-8")

    facts = json.loads(text("facts", row.facts_enc) or "{}")
    return RoutingText(text("triage_reason", row.triage_reason_enc), text("explanation", row.explanation_enc) or "",
                       facts if isinstance(facts, dict) else {})


async def seal_legacy(db: Database, sealer: Sealer, batch: int = 500) -> int:
    """Seal the routing text of rows written before revision 0003; return how many rows were sealed."""
    total = 0
    while True:
        async with db.session() as session, session.begin():
            requests = (await session.execute(
                select(Request).where(Request.triage_reason.is_not(None)).limit(batch))).scalars().all()
            for request in requests:
                reason = request.triage_reason
                await set_request_triage(sealer, session, request, reason)
            decisions = (await session.execute(
                select(RoutingDecision).where(RoutingDecision.data_key_id.is_(None),
                                              or_(RoutingDecision.explanation != "",
                                                  RoutingDecision.triage_reason.is_not(None),
                                                  RoutingDecision.facts != "{}"))
                .limit(batch))).scalars().all()
            for row in decisions:
                plain = await open_decision(sealer, session, row)
                for name, value in decision_columns(sealer, session, triage_reason=plain.triage_reason,
                                                    explanation=plain.explanation, facts=plain.facts).items():
                    setattr(row, name, value)
        total += len(requests) + len(decisions)
        if len(requests) < batch and len(decisions) < batch:
            return total
