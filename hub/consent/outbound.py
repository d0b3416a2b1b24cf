"""The consent check a second time, when queued clinical content is about to leave (DESIGN "Consent").

Contract:
- ``ConsentGuard(deps)`` is ``hub.outbox.Outbox.guard``: ``await guard(session, item)`` (the outbox worker's
  delivering transaction) passes an outbox row that names a ``consent_purpose`` through
  ``hub.consent.gate.check_transfer`` (actor ``system``; the refusal is audited there) and answers True when the
  worker's decision now forbids it: the row must not leave (the worker sets it ``held``).
- ``await tell_thread(deps, session, request, refused, what, message_id, at_pickup)`` (also used by the pickup)
  records the refusal where the physician sees it: a ``status`` message of the thread (sealed, French:
  ``hub.consent.gate.held_line``) and, for a pré-reprise letter, its ``Recommendation`` row ``held``;
  ``await released(session, message_id)`` puts such a letter back to ``sent`` when its pickup works again.
Acknowledgements, notifications and one-time codes carry no ``consent_purpose`` and are never checked.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import SYSTEM
from hub.consent.gate import ConsentRefused, check_transfer, held_line
from hub.consent.registry import ConsentDeps
from hub.store.models import Message, OutboxItem, Recommendation, Request, new_id, utcnow

HOLD_AUTHOR = "Guichet (contrôle du consentement)"
WHAT_OF_ROW = {"reply": "réponse à l'expéditeur", "info-request": "demande de précisions à l'expéditeur",
               "pickup": "lien de retrait sécurisé vers un message du médecin"}
WHAT_OF_PURPOSE = {"recommendations-employer": "recommandations de pré-reprise à l'employeur",
                   "recommendations-medecin-conseil": "recommandations de pré-reprise au médecin conseil"}


def what_of(item_purpose: str, consent_purpose: str) -> str:
    """What the held content was, in French, for the audit and the thread (``item_purpose``: the outbox row's
    purpose, or the kind of the message a pickup carries)."""
    return WHAT_OF_PURPOSE.get(consent_purpose) or WHAT_OF_ROW.get(item_purpose, "message au correspondant")


async def tell_thread(deps: ConsentDeps, session: AsyncSession, request: Request, refused: ConsentRefused, what: str,
                      message_id: str | None, at_pickup: bool = False) -> None:
    note_id, key, line = new_id(), deps.sealer.new_key(session), held_line(refused, what, at_pickup)
    session.add(Message(id=note_id, thread_id=request.thread_id, request_id=request.id, direction="internal",
                        kind="status", channel="inbox", author_label=HOLD_AUTHOR, data_key_id=key.id,
                        created_at=utcnow(),
                        body_enc=deps.sealer.seal(key, "messages", note_id, "body", line)))
    if message_id is not None:
        for letter in (await session.execute(select(Recommendation).where(
                Recommendation.message_id == message_id))).scalars():
            letter.status = "held"


async def released(session: AsyncSession, message_id: str) -> None:
    for letter in (await session.execute(select(Recommendation).where(
            Recommendation.message_id == message_id, Recommendation.status == "held"))).scalars():
        letter.status = "sent"


class ConsentGuard:
    def __init__(self, deps: ConsentDeps) -> None:
        self.deps = deps

    async def __call__(self, session: AsyncSession, item: OutboxItem) -> bool:
        if not item.consent_purpose or not item.request_id:
            return False
        request = await session.get(Request, item.request_id)
        if request is None:
            return False
        what = what_of(item.purpose, item.consent_purpose)
        refused = await check_transfer(self.deps, session, request, item.consent_purpose, SYSTEM,
                                       f"{what}, au départ de la file d'envoi")
        if refused is None:
            return False
        await tell_thread(self.deps, session, request, refused, what, item.message_id)
        return True
