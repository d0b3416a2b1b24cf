"""Reassigning a request by hand: to a physician (by RPPS), to the PDP cell, to a team (by code) or to triage.

Contract: ``Target.parse(practitioner_rpps, team)`` checks the shape (exactly one of them; ``team`` is ``"pdp"``,
``"triage"`` or a team code); ``await reassign_request(session, viewer, request, target, note, sealer=…)``
resolves it in the directory, updates the request's assignment columns, marks the previous routing decisions not
current and adds a ``manual`` :class:`RoutingDecision` decided by the viewer (the note, in the triage reason and
the explanation, is sealed: ``hub.routing.record``); returns a short description for the audit.
Raises ``Invalid`` in French when the target does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identifiers import check_rpps
from hub.inbox.access import Viewer
from hub.inbox.errors import Invalid
from hub.routing.model import Decision
from hub.routing.record import record_decision
from hub.store.models import Practitioner, Request, Team
from hub.store.sealing import Sealer

ASSIGNABLE_ROLES = ("mdt", "idest")


@dataclass(frozen=True)
class Target:
    practitioner_rpps: str | None = None
    team: str | None = None

    @classmethod
    def parse(cls, practitioner_rpps: str | None, team: str | None) -> Target:
        rpps, code = (practitioner_rpps or "").strip(), (team or "").strip()
        if bool(rpps) == bool(code):
            raise Invalid("Indiquez soit le RPPS d'un médecin, soit une équipe (« pdp », « triage » ou son code).")
        if rpps and check_rpps(rpps) is not None:
            raise Invalid(f"RPPS invalide : « {rpps} » (11 chiffres avec sa clé).")
        return cls(rpps or None, code or None)


async def reassign_request(session: AsyncSession, viewer: Viewer, request: Request, target: Target,
                           note: str = "", *, sealer: Sealer) -> str:
    practitioner_id: int | None = None
    team_id: int | None = None
    triage_reason: str | None = None
    if target.practitioner_rpps:
        doctor = (await session.execute(
            select(Practitioner).where(Practitioner.rpps == target.practitioner_rpps))).scalar_one_or_none()
        if doctor is None or doctor.role not in ASSIGNABLE_ROLES or doctor.team_id is None:
            raise Invalid(f"Aucun médecin ou infirmier du service de RPPS {target.practitioner_rpps} dans "
                          "l'annuaire.")
        practitioner_id, team_id = doctor.id, doctor.team_id
        to_label, described = doctor.display_name, f"practitioner {doctor.rpps}"
    else:
        code = target.team or ""
        if code == "pdp":
            team = (await session.execute(select(Team).where(Team.kind == "pdp").order_by(Team.id).limit(1))
                    ).scalar_one_or_none()
        elif code == "triage":
            team = None
        else:
            team = (await session.execute(select(Team).where(Team.code == code))).scalar_one_or_none()
            if team is None:
                raise Invalid(f"Aucune équipe de code « {code} » dans l'annuaire.")
        if code == "pdp" and team is None:
            raise Invalid("Aucune cellule PDP n'est déclarée dans l'annuaire.")
        if team is None or team.kind == "triage":
            triage_reason = (f"remise en file de tri par {viewer.label}" + (f" : {note}" if note else ""))[:300]
            to_label, described = "la file de tri", "triage"
        else:
            team_id = team.id
            to_label, described = team.name, f"team {team.code}"
    previous = {"practitioner_id": request.assigned_practitioner_id, "team_id": request.assigned_team_id,
                "in_triage": request.in_triage}
    explanation = f"Réaffectée à {to_label} par {viewer.label}" + (f" : {note}" if note else ".")
    decision = Decision("manual", explanation, practitioner_id=practitioner_id, team_id=team_id,
                        informed_team_id=request.informed_team_id, employer_id=request.employer_id,
                        triage_reason=triage_reason)
    await record_decision(session, request, decision, viewer.actor().label,
                          facts={"from": previous, "to": described}, sealer=sealer)
    return described
