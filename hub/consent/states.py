"""The worker's consent as the thread page shows it: per purpose relevant to the request, the current decision.

Contract: ``await thread_consents(deps, session, request, channel)`` → one :class:`ThreadConsent` per purpose of
``hub.consent.purposes.request_purposes``: the current decision, its date and channel (``None``: nothing recorded;
the French line then says "aucun consentement enregistré" and what that means for the purpose), and whether content
may leave for it. Neither the author nor the note of a decision: the consent page (``hub.consent.service``) shows
the whole history. Reads only; the caller audits the read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.consent.purposes import CHANNEL_FR, DECISION_FR, POLICY, PURPOSE_FR, allows, request_purposes
from hub.consent.registry import ConsentDeps, latest, subject_key
from hub.store.models import Request


@dataclass(frozen=True)
class ThreadConsent:
    purpose: str
    decision: str | None
    on: date | None
    channel: str | None
    allowed: bool

    @property
    def label(self) -> str:
        return PURPOSE_FR[self.purpose]

    @property
    def state_fr(self) -> str:
        if self.decision is None:
            return "aucun consentement enregistré" + (
                " (l'envoi sera refusé tant que l'accord du salarié n'est pas enregistré)"
                if POLICY[self.purpose] == "opt-in" else " (transmission possible sauf opposition du salarié)")
        channel = f", {CHANNEL_FR.get(self.channel or '', self.channel)}" if self.channel else ""
        return f"{DECISION_FR[self.decision]} le {self.on:%d/%m/%Y}{channel}"

    def to_json(self) -> dict[str, Any]:
        return {"purpose": self.purpose, "label": self.label, "decision": self.decision,
                "date": self.on.isoformat() if self.on else None, "channel": self.channel,
                "allowed": self.allowed, "text": self.state_fr}


async def thread_consents(deps: ConsentDeps, session: AsyncSession, request: Request, channel: str
                          ) -> list[ThreadConsent]:
    key = await subject_key(deps, session, request)
    out = []
    for purpose in request_purposes(request.event, request.requester_kind, channel):
        entry = await latest(deps, session, key, purpose)
        out.append(ThreadConsent(purpose, entry.decision, entry.on, entry.channel, allows(purpose, entry.decision))
                   if entry else ThreadConsent(purpose, None, None, None, allows(purpose, None)))
    return out
