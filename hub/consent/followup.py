"""The worker's own choices on the follow-up page of a request they made (``/suivi/{reference}?t=…``).

Contract:
- ``await choices(hub, reference, token, actor)`` → the purposes the worker may decide on for that request, each
  with its current state and the decisions offered (object to / lift the objection for the pré-reprise
  recommendations; withdraw / give the consent for a PDP referral), or ``None`` when the link is not valid or the
  request was not made by the worker themselves (a third party's link decides nothing for the worker).
- ``await decide(hub, reference, token, purpose, decision, actor)`` records the decision (channel ``form``,
  author "le salarié (page de suivi)") under the same rule; ``None`` when the link is not valid, raises
  ``Invalid`` for a purpose or decision not offered there.
The token is compared by its SHA-256 with the thread's ``follow_up_digest`` in constant time; every read and
decision is audited. Nothing of the request's content is read.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import Actor
from hub.consent import registry
from hub.consent.gate import current_decision
from hub.consent.purposes import DECISION_FR, POLICY, allows
from hub.inbox.errors import Invalid
from hub.references import token_digest
from hub.store.models import Request, Thread

if TYPE_CHECKING:
    from hub.core import Hub

OFFERED = {"pre-return-visit-request": ("recommendations-employer", "recommendations-medecin-conseil"),
           "pdp-referral": ("pdp-referral",)}
LABEL_FR = {
    "recommendations-employer": "Transmission des recommandations du médecin du travail à votre employeur",
    "recommendations-medecin-conseil": "Transmission des recommandations du médecin du travail au médecin conseil "
                                       "de l'Assurance maladie",
    "pdp-referral": "Examen de votre situation par la cellule de prévention de la désinsertion professionnelle",
}
ACTION_FR = {"objection": "Je m'oppose à cette transmission", "withdrawn": "Je retire mon accord",
             "consent": "Je donne mon accord"}


@dataclass(frozen=True)
class Choice:
    purpose: str
    label: str
    state: str
    offered: tuple[tuple[str, str], ...]  # (decision, button label)


def _offered(purpose: str, decision: str | None) -> tuple[tuple[str, str], ...]:
    if POLICY[purpose] == "opt-out":
        return (("objection", ACTION_FR["objection"]),) if allows(purpose, decision) else (
            ("consent", "Je lève mon opposition"),)
    return (("withdrawn", ACTION_FR["withdrawn"]),) if allows(purpose, decision) else (
        ("consent", ACTION_FR["consent"]),)


def _state(purpose: str, decision: str | None) -> str:
    if decision is None:
        return "aucune opposition" if POLICY[purpose] == "opt-out" else "aucun accord enregistré"
    return DECISION_FR[decision]


async def _worker_request(session: AsyncSession, reference: str, token: str) -> Request | None:
    if not token or len(token) > 200 or len(reference) > 24:
        return None
    row = (await session.execute(select(Thread.id, Thread.follow_up_digest, Thread.channel)
                                 .where(Thread.reference == reference))).first()
    if row is None or row.channel != "form" or not row.follow_up_digest or not hmac.compare_digest(
            row.follow_up_digest.encode(), token_digest(token).encode()):
        return None
    request = (await session.execute(select(Request).where(Request.thread_id == row.id)
                                     .order_by(Request.created_at).limit(1))).scalar_one_or_none()
    if request is None or request.requester_kind != "worker" or request.event not in OFFERED:
        return None
    return request


async def choices(hub: Hub, reference: str, token: str, actor: Actor) -> list[Choice] | None:
    async with hub.db.session() as session, session.begin():
        request = await _worker_request(session, reference, token)
        if request is None:
            return None
        key = await registry.subject_key(hub, session, request)
        out = []
        for purpose in OFFERED[request.event]:
            decision = await current_decision(hub, session, key, purpose)
            out.append(Choice(purpose, LABEL_FR[purpose], _state(purpose, decision), _offered(purpose, decision)))
        await hub.audit.record(session, actor=actor, action="read", entity_type="Consent", entity_id=request.id,
                               detail="follow-up page (the worker's choices)")
        return out


async def decide(hub: Hub, reference: str, token: str, purpose: str, decision: str, actor: Actor) -> bool | None:
    async with hub.db.session() as session, session.begin():
        request = await _worker_request(session, reference, token)
        if request is None:
            return None
        if purpose not in OFFERED[request.event] or decision not in ("objection", "withdrawn", "consent"):
            raise Invalid("Ce choix n'est pas proposé pour cette demande.")
        key = await registry.subject_key(hub, session, request)
        await registry.record(hub, session, worker_key=key, purpose=purpose, decision=decision, channel="form",
                              author="le salarié (page de suivi)", actor=actor, request_id=request.id)
        return True
