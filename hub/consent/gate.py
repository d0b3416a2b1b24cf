"""The one check before clinical content leaves the hub.

Contract: ``await check_transfer(hub, session, request, purpose, actor, what)`` returns ``None`` when the
worker's current decision for ``purpose`` allows it (``hub.consent.purposes.allows``; ``purpose=None``: the content
goes to the worker themselves), else a :class:`ConsentRefused` — not raised: the refusal is audited in the
caller's session (``outcome="denied"``), the caller lets that transaction commit with nothing else changed, then
raises it. Every outgoing path calls it: the inbox write-back (reply, ask-info: email, FHIR and any transport
added behind ``hub.inbox.actions``), the pré-reprise recommendations (when asked and again when sent), and the
FHIR reads of the physicians' answers, and — a second time, when the content actually leaves — the outbox
worker (``hub.consent.outbound``) and the secure pickup's every step (``hub.pickup.service``).
``ConsentRefused.message`` is French: the purpose, and what to do; ``ConsentRefused.on`` is the date of the
decision that forbids it (None: nothing recorded). ``held_line(refused, what, at_pickup)`` is the French line the
thread shows when queued content was held back at departure (or at the opening of its secure pickup).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import Actor
from hub.consent.purposes import DECISION_FR, POLICY, PURPOSE_FR, allows
from hub.consent.registry import ConsentDeps, latest, subject_key
from hub.inbox.errors import Forbidden
from hub.store.models import Request


class ConsentRefused(Forbidden):
    """Clinical content may not leave for this purpose (403); ``purpose`` and ``decision`` say why."""

    def __init__(self, message: str, purpose: str, decision: str | None, on: date | None = None) -> None:
        super().__init__(message)
        self.purpose = purpose
        self.decision = decision
        self.on = on


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


def held_line(refused: ConsentRefused, what: str, at_pickup: bool = False) -> str:
    """The thread's line for content allowed when queued and held back when it was about to leave: by the outbox
    (``at_pickup`` False), or when the correspondent opened its secure pickup link (True)."""
    if refused.decision in ("objection", "withdrawn"):
        why = (f"le salarié a exprimé son {DECISION_FR[refused.decision]} pour {PURPOSE_FR[refused.purpose]}"
               + (f" le {refused.on:%d/%m/%Y}" if refused.on else ""))
    else:
        why = f"aucun accord du salarié n'est enregistré pour {PURPOSE_FR[refused.purpose]}"
    if at_pickup:
        return (f"Non lu par le correspondant ({what}) : {why}, avant qu'il n'ouvre le lien de retrait sécurisé. "
                "Le contenu ne lui a pas été montré. Si le salarié revient sur sa décision, enregistrez son accord "
                "dans le registre des consentements (page « Consentements » de la demande) : le lien fonctionnera "
                "de nouveau.")
    return (f"Non envoyé ({what}) : {why}, après la mise en file de l'envoi. Rien n'a été transmis. Si le salarié "
            "revient sur sa décision, enregistrez son accord dans le registre des consentements (page "
            "« Consentements » de la demande), puis envoyez de nouveau.")


async def current_decision(hub: ConsentDeps, session: AsyncSession, worker_key: str, purpose: str) -> str | None:
    entry = await latest(hub, session, worker_key, purpose)
    return entry.decision if entry else None


async def check_transfer(hub: ConsentDeps, session: AsyncSession, request: Request, purpose: str | None, actor: Actor,
                         what: str) -> ConsentRefused | None:
    if purpose is None:
        return None
    if purpose not in POLICY:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    entry = await latest(hub, session, await subject_key(hub, session, request), purpose)
    decision = entry.decision if entry else None
    if allows(purpose, decision):
        return None
    await hub.audit.record(session, actor=actor, action="transfer", entity_type="Task", entity_id=request.id,
                           outcome="denied", detail=f"consent gate: {purpose} not allowed ({what})")
    return ConsentRefused(explain(purpose, decision, what), purpose, decision, entry.on if entry else None)
