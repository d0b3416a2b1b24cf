"""Pré-reprise recommendations to the employer and the médecin conseil (L4624-2-4, R4624-30).

Contract:
- ``await review(hub, viewer, thread_id, draft, source)`` → :class:`Review`: the exact letter each recipient
  would receive, or the reasons it cannot leave (the consent gate's refusal, clinical sentences found in the
  employer's copy, missing addresses). Nothing is sent; refusals are audited by the gate.
- ``await send(hub, viewer, thread_id, draft, source)`` sends what ``review`` showed, only on a pré-reprise
  request and only for recipients the worker has not objected for (``ConsentRefused`` otherwise, audited, nothing
  sent); the worker is informed first (an email when an address is known, else the physician declares having
  told them); each letter waits ``settings.recommendations_delay_hours`` (default 0: at once) in
  ``recommendations`` and passes the gate again when it leaves (``hub.consent.dispatch``). Each letter is an
  outbound message of the thread (kind ``recommendation``) from the start, its channel the one it leaves by.
- How each letter leaves (``Letter.via``, shown on the review screen): ``hub.trust.letters`` — the employer by
  secure pickup, the médecin conseil by MSSanté when the address is an MSSanté one, else by secure pickup.
Raises the inbox errors (``Invalid``, ``Conflict``, ``Forbidden``, ``NotFound``) with French messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.consent.dispatch import deliver_row, letter_message, worker_notice
from hub.consent.gate import ConsentRefused, check_transfer
from hub.consent.leak import leaked
from hub.consent.purposes import LETTER_RECIPIENTS
from hub.inbox.access import Viewer
from hub.inbox.authorship import author_line
from hub.inbox.errors import Conflict, Forbidden, Invalid
from hub.inbox.sealed import open_texts
from hub.inbox.threads import with_visible
from hub.store.models import Message, Recommendation, Request, Thread, new_id, utcnow
from hub.trust.letters import VIA_FR, letter_route

if TYPE_CHECKING:
    from hub.core import Hub

CHECKLIST = {
    "poste": "Aménagement du poste de travail",
    "temps": "Aménagement du temps de travail (temps partiel thérapeutique, horaires)",
    "teletravail": "Télétravail partiel",
    "formation": "Formation en vue d'un reclassement ou d'une réorientation",
    "reclassement": "Changement de poste ou reclassement",
    "essai": "Essai encadré ou convention de rééducation professionnelle",
}
RECIPIENTS = LETTER_RECIPIENTS
MAX_TEXT = 10_000


@dataclass
class RecommendationDraft:
    text: str = ""
    checklist: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)  # recipient -> email address
    worker_informed: bool = False  # the physician told the worker (when no address of theirs is known)

    def checked(self) -> None:
        self.text = (self.text or "").strip()
        if not self.text and not self.checklist:
            raise Invalid("Les recommandations sont vides : cochez au moins une mesure ou rédigez-les.")
        if len(self.text) > MAX_TEXT:
            raise Invalid(f"Les recommandations dépassent {MAX_TEXT} caractères.")
        unknown = [c for c in self.checklist if c not in CHECKLIST] + [r for r in self.recipients
                                                                        if r not in RECIPIENTS]
        if unknown:
            raise Invalid(f"Valeur inconnue : {', '.join(u[:30] for u in unknown)}.")
        if not self.recipients:
            raise Invalid("Choisissez au moins un destinataire : l'employeur et/ou le médecin conseil.")
        for r in self.recipients:
            address = (self.addresses.get(r) or "").strip()
            if "@" not in address or len(address) > 254 or any(c.isspace() for c in address):
                raise Invalid(f"Indiquez l'adresse électronique de {RECIPIENTS[r][1]}.")
            self.addresses[r] = address


@dataclass
class Letter:
    recipient: str
    label: str
    to: str
    subject: str
    body: str
    via: str = "pickup"  # mssante | pickup (hub.trust.letters)

    @property
    def via_fr(self) -> str:
        return VIA_FR[self.via]


@dataclass
class Review:
    thread_id: str
    reference: str
    letters: list[Letter]
    refusals: list[str]
    leaks: list[str]
    worker_email: str | None
    delay_hours: float

    @property
    def sendable(self) -> bool:
        return bool(self.letters) and not self.refusals and not self.leaks

    def to_json(self) -> dict[str, Any]:
        return {"id": self.thread_id, "reference": self.reference, "sendable": self.sendable,
                "refusals": self.refusals, "clinical_sentences": self.leaks,
                "worker_informed_by_email": self.worker_email is not None, "delay_hours": self.delay_hours,
                "letters": [{"recipient": x.recipient, "to": x.to, "subject": x.subject, "body": x.body,
                             "via": x.via, "via_label": x.via_fr} for x in self.letters]}


def letter(reference: str, recipient: str, to: str, worker: str, physician: str, draft: RecommendationDraft
           ) -> Letter:
    measures = "".join(f"- {CHECKLIST[c]}\n" for c in draft.checklist)
    body = (f"Madame, Monsieur,\n\nÀ la suite de la visite de pré-reprise de {worker}, le médecin du travail "
            f"({physician}) formule les recommandations suivantes en vue de son retour au travail.\n\n"
            + (f"Mesures recommandées :\n{measures}\n" if measures else "")
            + (f"{draft.text}\n\n" if draft.text else "")
            + "Ces recommandations ne comportent aucune information médicale (secret médical). Le salarié en a été "
              f"informé au préalable et ne s'est pas opposé à leur transmission.\n\nRéférence : {reference}.\n"
              "Guichet unique santé au travail\n")
    return Letter(recipient, RECIPIENTS[recipient][1], to,
                  f"[{reference}] Recommandations du médecin du travail (visite de pré-reprise)", body)


async def _clinical_texts(hub: Hub, session: AsyncSession, request: Request, payload: dict[str, Any]) -> list[str]:
    messages = (await session.execute(select(Message).where(  # not the letters themselves, nor the hub's lines
        Message.thread_id == request.thread_id, Message.kind.not_in(("recommendation", "status"))))).scalars().all()
    bodies = await open_texts(hub, session, [(m.data_key_id, "messages", m.id, "body", m.body_enc)
                                             for m in messages])
    subject = (await open_texts(hub, session, [(request.data_key_id, "requests", request.id, "subject",
                                                request.subject_enc)]))[0]
    return [str(payload.get("reason") or ""), subject, *bodies]


def _worker_email(payload: dict[str, Any]) -> str | None:
    worker = payload.get("worker") or {}
    requester = payload.get("requester") or {}
    email = worker.get("email") or (requester.get("email") if requester.get("kind") == "worker" else None)
    return str(email) if email else None


async def _prepare(hub: Hub, session: AsyncSession, viewer: Viewer, thread: Thread, request: Request, level: str,
                   draft: RecommendationDraft, source: str | None) -> tuple[Review, ConsentRefused | None]:
    if request.event != "pre-return-visit-request":
        raise Conflict("Les recommandations ne s'envoient qu'à la suite d'une demande de visite de pré-reprise.")
    if level not in ("owner", "triage"):
        raise Forbidden("Votre équipe est seulement informée de cette demande : elle ne peut pas envoyer de "
                        "recommandations.")
    draft.checked()
    payload = await hub.sealer.open_json(session, request.data_key_id, "requests", request.id, "payload",
                                         request.payload_enc)
    worker = payload.get("worker") or {}
    name = " ".join(x for x in (worker.get("given_names"), worker.get("family_name")) if x) or "votre salarié(e)"
    refusals, first = [], None
    letters = []
    for r in draft.recipients:
        purpose, label = RECIPIENTS[r]
        refused = await check_transfer(hub, session, request, purpose, viewer.actor(source),
                                       f"recommandations à {label}")
        if refused is not None:
            refusals.append(refused.message)
            first = first or refused
            continue
        item = letter(thread.reference, r, draft.addresses[r], name, viewer.label, draft)
        item.via = await letter_route(session, hub.settings, r, item.to)
        letters.append(item)
    leaks = leaked(draft.text, await _clinical_texts(hub, session, request, payload)) \
        if "employer" in draft.recipients else []
    delay = float(getattr(hub.settings, "recommendations_delay_hours", 0) or 0)
    return Review(thread.id, thread.reference, letters, refusals, leaks, _worker_email(payload), delay), first


async def review(hub: Hub, viewer: Viewer, thread_id: str, draft: RecommendationDraft,
                 source: str | None = None) -> Review:
    async def work(session: AsyncSession, thread: Thread, request: Request, level: str) -> Review:
        return (await _prepare(hub, session, viewer, thread, request, level, draft, source))[0]

    return await with_visible(hub, viewer, thread_id, source, work)


def leak_message(leaks: list[str]) -> str:
    quoted = " ; ".join(f"« {s[:120]} »" for s in leaks[:3])
    return ("Envoi refusé : la copie destinée à l'employeur reprend des phrases du dossier médical (motif de la "
            f"demande, messages ou notes) : {quoted}. L'employeur ne doit recevoir aucune information médicale : "
            "reformulez les recommandations sans elles.")


async def send(hub: Hub, viewer: Viewer, thread_id: str, draft: RecommendationDraft,
               source: str | None = None) -> list[str]:
    async def work(session: AsyncSession, thread: Thread, request: Request, level: str
                   ) -> list[str] | ConsentRefused:
        prepared, refused = await _prepare(hub, session, viewer, thread, request, level, draft, source)
        if refused is not None:
            return refused  # the gate's audit entry commits; nothing is sent
        if prepared.leaks:
            raise Invalid(leak_message(prepared.leaks))
        if prepared.worker_email is None and not draft.worker_informed:
            raise Invalid("Le salarié doit être informé avant l'envoi et aucune adresse électronique n'est connue "
                          "pour lui : informez-le (de l'envoi et de son droit de s'y opposer), puis cochez la case "
                          "qui le confirme.")
        now = utcnow()
        due = now + timedelta(hours=prepared.delay_hours)
        await worker_notice(hub, session, thread, request, prepared, due)
        author = await author_line(session, viewer, request)
        ids = []
        for item in prepared.letters:
            row_id, key = new_id(), hub.sealer.new_key(session)
            message_id = await letter_message(hub, session, request, item.via, item.body, author)
            row = Recommendation(
                id=row_id, request_id=request.id, recipient=item.recipient, status="scheduled",
                author_user_id=viewer.user_id, created_at=now, due_at=due, data_key_id=key.id, message_id=message_id,
                content_enc=hub.sealer.seal_json(key, "recommendations", row_id, "content", {
                    "to": item.to, "subject": item.subject, "body": item.body, "via": item.via, "author": author}))
            session.add(row)
            await hub.audit.record(session, actor=viewer.actor(source), action="create",
                                   entity_type="Recommendation", entity_id=row_id,
                                   detail=f"to {item.recipient} via {item.via}; request {request.id}")
            if prepared.delay_hours <= 0:
                await session.flush()
                await deliver_row(hub, session, row, request, thread)
            ids.append(row_id)
        return ids

    result = await with_visible(hub, viewer, thread_id, source, work, for_update=True)
    if isinstance(result, ConsentRefused):
        raise result
    hub.outbox.wakeup.set()
    return result
