"""Where a clinical answer may go: the one decision, as a table read top to bottom.

Contract:
- ``decide(facts, settings)`` is pure: it returns the :class:`AnswerRoute` of the first row of ``ROUTES`` whose
  condition holds for the :class:`AnswerFacts`. ``via`` is one of ``api`` (the answer stays in the FHIR API,
  where the authenticated client reads it), ``mssante`` (an outbox row of kind ``mssante``: the MSSanté transport
  delivers it), ``email`` (plain email: only a ``verified`` sender of a domain listed in ``plain_email_domains``),
  ``pickup`` (secure pickup ``/retrait/{token}``: the email holds no health data) or ``none`` (no address: the
  answer stays in the file). ``needs_confirmation`` is True for an ``unverified`` sender: the physician must
  confirm, and the answer still goes by pickup.
- ``await gather(hub, session, thread, request, payload)`` reads the facts of one request: the trust of the
  request's first message, the requester's address (from the decrypted ``payload``), and the MSSanté address the
  directory holds for the requester's RPPS (``Request.requester_rpps``, set only for an established email sender;
  a claimed RPPS never counts). ``decide`` uses that address only for a ``verified`` or ``mssante`` sender: an RPPS
  typed in a public form does not send a worker's file to that practitioner's secure mailbox.
- ``await answer_route(hub, session, thread, request, payload)`` is ``decide(await gather(...))``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.config import Settings
from hub.store.models import Message, Practitioner, Request, Thread

if TYPE_CHECKING:
    from hub.core import Hub


@dataclass(frozen=True)
class AnswerFacts:
    channel: str  # the thread's channel
    trust: str  # the trust level of the request's first message
    requester_email: str | None
    directory_mssante: str | None  # of the established requester, from the directory


@dataclass(frozen=True)
class AnswerRoute:
    via: str
    to: str | None
    trust: str
    needs_confirmation: bool
    explanation: str  # French, for the physician

    def to_json(self) -> dict[str, Any]:
        return {"via": self.via, "to": self.to, "trust": self.trust,
                "needs_confirmation": self.needs_confirmation, "explanation": self.explanation}


def _domain(address: str | None) -> str:
    return (address or "").rpartition("@")[2].lower()


Condition = Callable[[AnswerFacts, Settings], bool]
# (condition, via, recipient, explanation): the first row that holds decides.
ROUTES: tuple[tuple[Condition, str, Callable[[AnswerFacts], str | None], str], ...] = (
    (lambda f, s: f.trust == "api" or f.channel == "fhir", "api", lambda f: None,
     "La réponse reste sur l'API sécurisée, où le client authentifié de la structure la lit."),
    (lambda f, s: f.trust == "mssante" and bool(f.requester_email), "mssante", lambda f: f.requester_email,
     "La réponse partira par MSSanté, à la boîte sécurisée d'où la demande est venue."),
    (lambda f, s: bool(f.directory_mssante) and f.trust in ("verified", "mssante"), "mssante",
     lambda f: f.directory_mssante,
     "La réponse partira par MSSanté, à l'adresse sécurisée que l'annuaire connaît pour ce demandeur."),
    (lambda f, s: not f.requester_email, "none", lambda f: None,
     "Aucune adresse pour ce demandeur : la réponse reste dans le dossier."),
    (lambda f, s: f.trust == "verified" and _domain(f.requester_email) in s.plain_email_domains, "email",
     lambda f: f.requester_email,
     "La réponse partira par courriel simple : l'expéditeur est authentifié et son domaine est autorisé à "
     "recevoir des réponses en clair."),
    (lambda f, s: f.trust in ("unverified", ""), "pickup", lambda f: f.requester_email,
     "Adresse non vérifiée : l'envoi demande votre confirmation, et la réponse ne partira que par retrait "
     "sécurisé (le courriel ne contient qu'un lien, le code arrive dans un second courriel)."),
    (lambda f, s: True, "pickup", lambda f: f.requester_email,
     "La réponse partira par retrait sécurisé : le courriel ne contient qu'un lien, le code arrive dans un "
     "second courriel."),
)


def decide(facts: AnswerFacts, settings: Settings) -> AnswerRoute:
    for condition, via, recipient, explanation in ROUTES:
        if condition(facts, settings):
            return AnswerRoute(via=via, to=recipient(facts), trust=facts.trust,
                               needs_confirmation=facts.trust == "unverified" and via == "pickup",
                               explanation=explanation)
    raise AssertionError("the last row always holds")


async def gather(hub: Hub, session: AsyncSession, thread: Thread, request: Request, payload: dict[str, Any]
                 ) -> AnswerFacts:
    trust = (await session.execute(
        select(Message.trust).where(Message.request_id == request.id, Message.direction == "in")
        .order_by(Message.created_at, Message.id).limit(1))).scalar_one_or_none()
    mssante = None
    if request.requester_rpps:
        mssante = (await session.execute(select(Practitioner.mssante).where(
            Practitioner.rpps == request.requester_rpps))).scalar_one_or_none()
    email = (payload.get("requester") or {}).get("email")
    return AnswerFacts(channel=thread.channel, trust=trust or "unverified",
                       requester_email=str(email).strip() if email else None, directory_mssante=mssante or None)


async def answer_route(hub: Hub, session: AsyncSession, thread: Thread, request: Request, payload: dict[str, Any]
                       ) -> AnswerRoute:
    return decide(await gather(hub, session, thread, request, payload), hub.settings)
