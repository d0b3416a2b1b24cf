"""Rule 2: temp workers are followed by the sector of the temp agency (NAF 7820Z): its intérim team."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from hub.routing import lookups
from hub.routing.model import Decision, RoutingFacts
from hub.store.models import Employer

TEMP_AGENCY_NAF = ("7820Z",)


class TempAgency:
    """When the chosen employer is a temp agency (NAF 7820Z), send the request to the intérim team (team kind
    ``interim``: the agency's own team if it is one, else the intérim team of the same centre, else the first):
    to the agency's assigned physician if they belong to that team, else to the team."""

    name = "interim"
    stage = "refine"

    async def refine(self, session: AsyncSession, facts: RoutingFacts, decision: Decision, today: date
                     ) -> Decision | None:
        if decision.employer_id is None:
            return None
        employer = await session.get(Employer, decision.employer_id)
        if employer is None or not employer.active or (employer.naf or "").upper() not in TEMP_AGENCY_NAF:
            return None
        team = await lookups.team_of_kind(session, "interim", employer.team_id)
        if team is None:
            return None
        doctor = await lookups.practitioner(session, employer.physician_id)
        core = (f"{lookups.employer_label(employer)} est une entreprise de travail temporaire (NAF {employer.naf}) : "
                f"ses intérimaires sont suivis par l'équipe intérim ({team.name})")
        facts_used = {**decision.facts, "naf": employer.naf, "interim_team_id": team.id, "interim_team": team.code}
        if doctor is not None and doctor.team_id == team.id:
            facts_used.update(physician_id=doctor.id, physician_rpps=doctor.rpps)
            return replace(decision, rule=self.name, practitioner_id=doctor.id, team_id=team.id,
                           employer_id=employer.id, triage_reason=None, facts=facts_used,
                           basis=f"{core} ; cette agence fait partie du portefeuille de {lookups.person_name(doctor)}",
                           explanation=f"Adressé à vous : {core} ; cette agence fait partie de votre portefeuille.")
        return replace(decision, rule=self.name, practitioner_id=None, team_id=team.id, employer_id=employer.id,
                       triage_reason=None, facts=facts_used, basis=core,
                       explanation=f"Adressé à votre équipe ({team.name}) : {core}.")
