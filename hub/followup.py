"""The private follow-up page ``/suivi/{reference}?t=<token>``: where a form request stands, in plain French.

Contract: ``await follow_ups.status(reference, token, actor)`` returns a :class:`FollowUp` or None (unknown
reference, not a form request, wrong or missing token: the caller answers 404 in every case, so nothing tells a
reference that exists from one that does not). The token is compared by its SHA-256 with the thread's
``follow_up_digest`` in constant time. Only the Task's status, type, dates and the requester's kind are read —
never the request's text, the worker's identity or anything a physician wrote — and the read is audited, as is
every refusal (outcome ``denied``).
``next_steps(event, requester_kind)`` and ``EVENT_FR`` are shared with the confirmation email (``hub.notices``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from hub.audit import Actor, AuditLog
from hub.references import token_digest
from hub.store.db import Database
from hub.store.models import Request, Thread

STATUS_FR = {
    "requested": ("Reçue", "Votre demande a bien été reçue. Elle va être examinée par l'équipe de santé au travail."),
    "received": ("Reçue", "Votre demande a bien été reçue. Elle va être examinée par l'équipe de santé au travail."),
    "accepted": ("Prise en charge", "Votre demande est prise en charge par l'équipe de santé au travail."),
    "in-progress": ("Prise en charge", "Votre demande est en cours de traitement par l'équipe de santé au "
                                       "travail."),
    "on-hold": ("En attente d'informations", "L'équipe de santé au travail attend des informations "
                                             "complémentaires : elle vous contactera, ou a pris contact avec vous, "
                                             "aux coordonnées que vous avez données."),
    "completed": ("Terminée", "Le traitement de votre demande est terminé."),
    "rejected": ("Non retenue", "Votre demande n'a pas pu être retenue. Le service vous en a indiqué ou vous en "
                                "indiquera la raison aux coordonnées que vous avez données."),
    "cancelled": ("Annulée", "Cette demande a été annulée."),
}
EVENT_FR = {"pdp-referral": "Saisine de la cellule de prévention de la désinsertion professionnelle",
            "pre-return-visit-request": "Demande de visite de pré-reprise"}


def next_steps(event: str, requester_kind: str) -> list[str]:
    """Practical next steps by requester; an employer-side requester gets no clinical content, ever."""
    if requester_kind == "employer":
        return ["Le service de santé au travail prend contact directement avec le salarié. Aucune information "
                "médicale ne vous sera transmise : c'est la règle du secret médical.",
                "Vous pouvez proposer au salarié un rendez-vous de liaison (article L1226-1-3 du code du travail) "
                "et, à son retour, demander la visite de reprise.",
                "Si le médecin du travail formule des propositions d'aménagement de poste, elles vous seront "
                "adressées par le service."]
    if event == "pre-return-visit-request":
        common = ["Le service de santé au travail proposera un rendez-vous de pré-reprise au salarié, pendant son "
                  "arrêt de travail."]
        if requester_kind == "worker":
            return common + ["Vous n'avez pas besoin d'en informer votre employeur. Les recommandations éventuelles "
                             "du médecin du travail ne lui seront transmises que si vous ne vous y opposez pas."]
        return common + ["Le médecin du travail pourra vous contacter pour échanger sur la situation du salarié, "
                         "avec son accord."]
    if requester_kind == "worker":
        return ["Votre médecin du travail et la cellule de prévention de la désinsertion professionnelle étudient "
                "votre situation et vous recontacteront."]
    return ["Le médecin du travail du salarié et la cellule de prévention de la désinsertion professionnelle "
            "étudient la situation ; ils prendront contact avec le salarié et, si besoin, avec vous."]


@dataclass(frozen=True)
class FollowUp:
    reference: str
    event: str
    event_fr: str
    status_fr: str
    status_text: str
    received_at: datetime
    updated_at: datetime
    requester_kind: str
    steps: list[str]


class FollowUps:
    """The status of a form request, for whoever holds its follow-up link."""

    def __init__(self, db: Database, audit: AuditLog) -> None:
        self.db, self.audit = db, audit

    async def status(self, reference: str, token: str, actor: Actor) -> FollowUp | None:
        return await _status(self.db, self.audit, reference, token, actor)


async def _status(db: Database, audit: AuditLog, reference: str, token: str, actor: Actor) -> FollowUp | None:
    if not token or len(token) > 200 or len(reference) > 24:
        await audit.record_refusal(actor=actor, action="read", entity_type="Thread",
                                       detail="follow-up page: wrong or unknown link")
        return None
    async with db.session() as session, session.begin():
        row = (await session.execute(
            select(Thread.id, Thread.follow_up_digest, Thread.channel).where(Thread.reference == reference)
        )).first()
        digest = token_digest(token)
        if row is None or row.channel != "form" or not row.follow_up_digest or not hmac.compare_digest(
                row.follow_up_digest.encode(), digest.encode()):
            await audit.record(session, actor=actor, action="read", entity_type="Thread",
                                   entity_id=row.id if row is not None else None, outcome="denied",
                                   detail="follow-up page: wrong or unknown link")
            return None
        request = (await session.execute(
            select(Request.id, Request.event, Request.status, Request.requester_kind, Request.created_at,
                   Request.updated_at)
            .where(Request.thread_id == row.id).order_by(Request.created_at).limit(1))).first()
        if request is None:
            return None
        await audit.record(session, actor=actor, action="read", entity_type="Task", entity_id=request.id,
                               detail="follow-up page (status only)")
    label, text = STATUS_FR.get(request.status, ("Reçue", STATUS_FR["requested"][1]))
    return FollowUp(reference=reference, event=request.event, event_fr=EVENT_FR.get(request.event, "Demande"),
                    status_fr=label, status_text=text, received_at=request.created_at,
                    updated_at=request.updated_at, requester_kind=request.requester_kind,
                    steps=next_steps(request.event, request.requester_kind))
