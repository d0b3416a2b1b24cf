"""Rule 6: a request from a CPTS/DAC whose employer is unknown → the centre of the worker's commune."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.routing import lookups
from hub.routing.model import Decision, RoutingFacts


async def employer_known(session: AsyncSession, facts: RoutingFacts) -> bool:
    """True when the facts name an employer of the directory (by SIRET, or by a name that matches one)."""
    if facts.employer_siret:
        return await lookups.employer_by_siret(session, facts.employer_siret) is not None
    if facts.employer_name:
        found = await lookups.employers_by_name(session, facts.employer_name, facts.employer_postcode,
                                                facts.employer_commune)
        return len(found) == 1
    return False


class StructureCommune:
    """A CPTS or DAC of the directory sends a request without a known employer: route to the first standard
    team of the centre located in the worker's commune (``Centre.commune_insee``), when there is one."""

    name = "structure-commune"
    stage = "find"

    async def decide(self, session: AsyncSession, facts: RoutingFacts) -> Decision | None:
        if not facts.structure_id or not facts.worker_commune:
            return None
        structure = await lookups.structure(session, facts.structure_id)
        if structure is None or await employer_known(session, facts):
            return None
        found = await lookups.centre_team_for_commune(session, facts.worker_commune)
        if found is None:
            return None
        centre, team = found
        kind = "CPTS" if structure.kind == "cpts" else "DAC"
        basis = (f"demande de « {structure.name} » ({kind}) sans employeur connu ; le salarié réside dans la commune "
                 f"{facts.worker_commune}, siège du {centre.name}")
        return Decision(self.name, f"Adressé à votre équipe ({team.name}) : {basis}.", team_id=team.id,
                        facts={"structure_id": structure.id, "structure_kind": structure.kind,
                               "worker_commune": facts.worker_commune, "centre": centre.code,
                               "team_id": team.id, "team": team.code},
                        basis=basis)
