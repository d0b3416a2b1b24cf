"""Rule 4: an absent physician (``absent_until`` ≥ today) is replaced by their delegate, along the chain."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from hub.routing import lookups
from hub.routing.model import Decision, RoutingFacts
from hub.routing.rules.base import triage
from hub.store.models import Practitioner


def is_absent(doctor: Practitioner, today: date) -> bool:
    return doctor.absent_until is not None and doctor.absent_until >= today


class AbsentPhysician:
    """Whoever another rule chose: while they are absent, their delegate receives; a delegate who is absent
    too hands on to theirs, and so on. A loop in the chain, or a chain that ends without anyone present, sends
    the request to the first physician's team — or to triage when there is no team."""

    name = "absence"
    stage = "refine"

    async def refine(self, session: AsyncSession, facts: RoutingFacts, decision: Decision, today: date
                     ) -> Decision | None:
        first = await lookups.practitioner(session, decision.practitioner_id)
        if first is None or not is_absent(first, today):
            return None
        chain: list[Practitioner] = [first]
        sentences: list[str] = []
        seen = {first.id}
        current: Practitioner | None = first
        present: Practitioner | None = None
        while current is not None and is_absent(current, today):
            assert current.absent_until is not None
            delegate = await lookups.practitioner(session, current.delegate_id)
            until = lookups.date_fr(current.absent_until)
            if delegate is None:
                sentences.append(f"{lookups.person_name(current)} est absent jusqu'au {until}, sans remplaçant désigné")
                break
            if delegate.id in seen:
                sentences.append(f"{lookups.person_name(current)} est absent jusqu'au {until} et la chaîne des "
                                 f"remplaçants revient à {lookups.person_name(delegate)}")
                break
            sentences.append(f"{lookups.person_name(current)} est absent jusqu'au {until}, remplacé par "
                             f"{lookups.person_name(delegate)}")
            seen.add(delegate.id)
            chain.append(delegate)
            current = delegate
            if not is_absent(delegate, today):
                present = delegate
        used = {**decision.facts, "absent": [
            {"practitioner_id": p.id, "rpps": p.rpps, "absent_until": p.absent_until.isoformat()}
            for p in chain if p.absent_until is not None and is_absent(p, today)]}
        story = " ; ".join(sentences)
        why = f" Motif : {decision.basis}." if decision.basis else ""
        if present is not None:
            used.update(physician_id=present.id, physician_rpps=present.rpps)
            return replace(decision, rule=self.name, practitioner_id=present.id, facts=used,
                           explanation=f"Adressé à vous en remplacement : {story}.{why}",
                           basis=f"{decision.basis} ; {story}" if decision.basis else story)
        team = await lookups.team(session, decision.team_id if decision.team_id is not None else first.team_id)
        if team is not None:
            used.update(team_id=team.id, team=team.code)
            return replace(decision, rule=self.name, practitioner_id=None, team_id=team.id, facts=used,
                           explanation=f"Adressé à votre équipe ({team.name}) : aucun médecin présent — {story}.{why}",
                           basis=f"{decision.basis} ; {story}" if decision.basis else story)
        out = triage(self.name, f"médecin absent et aucun remplaçant présent ({story})", used,
                     employer_id=decision.employer_id)
        out.informed_team_id = decision.informed_team_id
        return out
