"""Rule 7: otherwise → the triage queue, with the reason in French."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.routing import lookups
from hub.routing.model import Decision, RoutingFacts
from hub.routing.rules.base import closed_member_reason, triage
from hub.routing.rules.employer_name import place_fr


class Triage:
    """Always decides: the human triage queue, with the most precise reason the directory gives
    ("employeur non adhérent (SIRET …)", "aucun employeur indiqué", …). A connector's ``triage_hint`` is kept
    in front of it."""

    name = "triage"
    stage = "find"

    async def decide(self, session: AsyncSession, facts: RoutingFacts) -> Decision:
        used: dict[str, object] = {}
        if facts.employer_siret:
            used["siret"] = facts.employer_siret
            employer = await lookups.employer_by_siret(session, facts.employer_siret)
            if employer is None:
                reason = f"employeur non adhérent (SIRET {facts.employer_siret})"
            elif not employer.active:
                reason = closed_member_reason(employer)
            else:
                reason = f"adhérent sans équipe ni médecin attribués (SIRET {employer.siret}, {employer.name})"
        elif facts.employer_name:
            reason = await self._by_name(session, facts)
            used.update(employer_name=facts.employer_name, employer_postcode=facts.employer_postcode,
                        employer_commune=facts.employer_commune)
        else:
            reason = "aucun employeur indiqué"
        if facts.structure_id:
            used.update(structure_id=facts.structure_id, worker_commune=facts.worker_commune)
            reason += await self._structure_note(session, facts)
        if facts.triage_hint:
            used["hint"] = facts.triage_hint
            reason = f"{facts.triage_hint} — {reason}"
        return triage(self.name, reason, used)

    @staticmethod
    async def _by_name(session: AsyncSession, facts: RoutingFacts) -> str:
        assert facts.employer_name is not None
        name, where = facts.employer_name, place_fr(facts.employer_postcode, facts.employer_commune)
        members = await lookups.employers_by_name(session, name, facts.employer_postcode, facts.employer_commune)
        if len(members) > 1:
            return f"employeur ambigu : {len(members)} établissements correspondent (« {name} »{where})"
        if members:
            return f"employeur « {name} »{where} reconnu (SIRET {members[0].siret}) mais non attribué"
        former = await lookups.employers_by_name(session, name, facts.employer_postcode, facts.employer_commune,
                                                 active=False)
        if former:
            return closed_member_reason(former[0])
        return f"employeur introuvable dans l'annuaire (« {name} »{where})"

    @staticmethod
    async def _structure_note(session: AsyncSession, facts: RoutingFacts) -> str:
        if await lookups.structure(session, facts.structure_id) is None:
            return f" ; structure {facts.structure_id} absente de l'annuaire"
        if not facts.worker_commune:
            return " ; commune du salarié non indiquée"
        if await lookups.centre_team_for_commune(session, facts.worker_commune) is None:
            return f" ; aucun centre du service dans la commune {facts.worker_commune} du salarié"
        return ""
