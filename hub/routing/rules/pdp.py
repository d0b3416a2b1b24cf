"""Rule 3: a ``pdp-referral`` goes to the worker's own physician, and the PDP cell is informed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from hub.routing import lookups
from hub.routing.model import Decision, RoutingFacts


class PdpReferral:
    """For a ``pdp-referral``, whoever the other rules chose keeps the request (even the triage queue), and the
    PDP cell (team kind ``pdp``: the one of the recipient team's centre, else the first) is informed: it sees
    the thread."""

    name = "pdp-referral"
    stage = "refine"
    event = "pdp-referral"

    async def refine(self, session: AsyncSession, facts: RoutingFacts, decision: Decision, today: date
                     ) -> Decision | None:
        if facts.event != self.event:
            return None
        cell = await lookups.team_of_kind(session, "pdp", decision.team_id)
        if cell is None:
            return None
        note = (f" La cellule de prévention de la désinsertion professionnelle ({cell.name}) est informée et "
                "suit l'échange.")
        return replace(decision, rule=self.name, informed_team_id=cell.id, explanation=decision.explanation + note,
                       facts={**decision.facts, "event": facts.event, "pdp_team_id": cell.id,
                              "pdp_team": cell.code})
