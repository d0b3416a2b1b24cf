"""The consent registry at intake: what a request says about the worker's consent, recorded once.

Contract: ``await on_intake(hub, session, draft, request_id, actor)`` (called by ``hub.intake`` inside the
transaction that stores the request) keeps the request's keyed worker identity (``consent_subjects``) and, when
the draft carries a consent statement, records it for the purposes it names (``ConsentStatement.purposes``; else
the purposes this request serves, ``intake_purposes``): ``permit`` is ``consent``, ``deny`` is ``objection``; its
channel maps to the registry's (web → form, fhir → api, email → email, oral/paper → in-person). A statement the
registry cannot take (dated in the future) is not recorded: the law checks (``hub.intake.law``) already refused
the request or sent it to triage with that reason, and it must not make the whole request fail.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import Actor
from hub.consent.identity import worker_key
from hub.consent.purposes import PURPOSES, reply_purpose
from hub.consent.registry import ConsentDeps, record, validate
from hub.inbox.errors import Invalid
from hub.intake.drafts import RequestDraft
from hub.store.models import ConsentSubject

CHANNEL_MAP = {"web": "form", "form": "form", "fhir": "api", "api": "api", "email": "email", "oral": "in-person",
               "paper": "in-person", "in-person": "in-person"}


def intake_purposes(draft: RequestDraft) -> list[str]:
    """What a request's consent is for: the referral itself (a PDP referral) and the exchange with its sender."""
    found = ["pdp-referral"] if draft.event == "pdp-referral" else []
    exchange = reply_purpose(draft.event, draft.requester.kind, draft.channel)
    return found + [exchange] if exchange and exchange not in found else found


async def on_intake(hub: ConsentDeps, session: AsyncSession, draft: RequestDraft, request_id: str,
                    actor: Actor) -> None:
    key = worker_key(hub.hasher, draft.worker, request_id)
    session.add(ConsentSubject(request_id=request_id, worker_key=key))
    statement = draft.consent
    if statement is None:
        return
    named = [p for p in getattr(statement, "purposes", ()) or () if p in PURPOSES]
    purposes = named or intake_purposes(draft)
    decision = "consent" if statement.decision == "permit" else "objection"
    channel = CHANNEL_MAP.get(statement.channel, "form")
    try:
        validate(purposes[0] if purposes else PURPOSES[0], decision, channel, statement.given_on)
    except Invalid:
        return
    by = "le salarié" if statement.declared_by == "worker" else f"déclaré par le demandeur ({draft.requester.name})"
    for purpose in purposes:
        await record(hub, session, worker_key=key, purpose=purpose,
                     decision=decision, channel=channel, author=by, actor=actor,
                     on=statement.given_on, request_id=request_id)
