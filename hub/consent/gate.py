"""The one check before clinical content leaves the hub.

Contract: ``await check_transfer(hub, session, request, purpose, actor, what)`` returns ``None`` when the
worker's current decision for ``purpose`` allows it (``hub.consent.purposes.allows``; ``purpose=None``: the content
goes to the worker themselves), else a :class:`ConsentRefused` — not raised: the refusal is audited in the
caller's session (``outcome="denied"``), the caller lets that transaction commit with nothing else changed, then
raises it. Every outgoing path calls it: the inbox write-back (reply, ask-info: email, FHIR and any transport
added behind ``hub.inbox.actions``), the pré-reprise recommendations (when asked and again when sent), and the
FHIR reads of the physicians' answers. ``ConsentRefused.message`` is French: the purpose, and what to do.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import Actor
from hub.consent.purposes import DECISION_FR, POLICY, PURPOSE_FR, allows
from hub.consent.registry import ConsentDeps, subject_key
from hub.inbox.errors import Forbidden
from hub.store.models import ConsentDecision, Request


class ConsentRefused(Forbidden):
    """Clinical content may not leave for this purpose (403); ``purpose`` and ``decision`` say why."""

    def __init__(self, message: str, purpose: str, decision: str | None) -> None:
        super().__init__(message)
        self.purpose = purpose
        self.decision = decision


def explain(purpose: str, decision: str | None, what: str) -> str:
    """The French sentence the user reads: what was refused, for which purpose, and what to do."""
    head = f"Envoi refusé ({what}) : {PURPOSE_FR[purpose]} n'est pas autorisé"
    if decision in ("objection", "withdrawn"):
        why = (f"le salarié a exprimé son {DECISION_FR[decision]} pour cette finalité. Rien n'a été envoyé. "
               "Seul le salarié peut revenir sur sa décision : s'il le fait, enregistrez son accord dans le "
               "registre des consentements (page « Consentements » de la demande).")
    else:
        why = ("aucun accord préalable du salarié n'est enregistré pour cette finalité (article L1110-4 du code "
               "de la santé publique). Rien n'a été envoyé. Recueillez l'accord du salarié, puis enregistrez-le "
               "dans le registre des consentements (page « Consentements » de la demande) avant de renvoyer.")
    return f"{head} : {why}"


async def current_decision(hub: ConsentDeps, session: AsyncSession, worker_key: str, purpose: str) -> str | None:
    row = (await session.execute(select(ConsentDecision).where(
        ConsentDecision.worker_key == worker_key, ConsentDecision.purpose == purpose)
        .order_by(ConsentDecision.seq.desc()).limit(1))).scalar_one_or_none()
    if row is None:
        return None
    details = await hub.sealer.open_text(session, row.data_key_id, "consent_decisions", row.id, "details",
                                         row.details_enc)
    decision: str = json.loads(details)["decision"]
    return decision


async def check_transfer(hub: ConsentDeps, session: AsyncSession, request: Request, purpose: str | None, actor: Actor,
                         what: str) -> ConsentRefused | None:
    if purpose is None:
        return None
    if purpose not in POLICY:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    decision = await current_decision(hub, session, await subject_key(hub, session, request), purpose)
    if allows(purpose, decision):
        return None
    await hub.audit.record(session, actor=actor, action="transfer", entity_type="Task", entity_id=request.id,
                           outcome="denied", detail=f"consent gate: {purpose} not allowed ({what})")
    return ConsentRefused(explain(purpose, decision, what), purpose, decision)
