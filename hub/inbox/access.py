"""Who sees what in the inbox.

Contract:
- ``await load_viewer(session, user, today)`` returns a :class:`Viewer`: the practitioner ids whose requests the
  user sees (their own, those of absent physicians they stand in for — ``delegate_id`` is theirs and
  ``absent_until >= today`` — and those of their team's members), the teams whose requests they see (their own),
  the teams whose information they see (their own team: the PDP cell sees ``informed_team_id``), and whether
  they see the triage queue. What the role may see and do comes from the rights table (``hub.rights``): without
  ``see-requests`` the viewer sees no request at all (admin, direction), without ``triage`` no triage queue.
- ``access(viewer, request)`` says how the viewer reaches one request: ``"owner"`` (assigned to them, their
  delegations or their team), ``"triage"`` (the triage queue), ``"informed"`` (read only), or ``None`` (not
  visible: answer 404). ``viewer.actions_for(level)`` is what the viewer may do there: the level's actions that
  their role's rights allow (``close`` needs ``close-admin`` or ``close-medical``).
- ``viewer.actor(source)`` is the audit actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import Actor
from hub.rights import DEFAULT_RIGHTS, RightsTable
from hub.store.models import Practitioner, Request, User

OWNER_ACTIONS = ("accept", "reply", "ask-info", "reassign", "close")
TRIAGE_ACTIONS = ("reply", "ask-info", "reassign", "close")


@dataclass(frozen=True)
class Viewer:
    user_id: int
    email: str
    role: str
    label: str
    practitioner_id: int | None = None
    team_id: int | None = None
    practitioners: tuple[int, ...] = ()
    teams: tuple[int, ...] = ()
    informed_teams: tuple[int, ...] = ()
    triage: bool = False
    stands_in_for: tuple[str, ...] = ()
    rights: frozenset[str] = frozenset()
    role_label: str = ""

    def can(self, right: str) -> bool:
        return right in self.rights

    @property
    def reads_clinical(self) -> bool:
        return "read-clinical" in self.rights

    def actions_for(self, level: str | None) -> tuple[str, ...]:
        def permitted(action: str) -> bool:
            if action == "close":
                return bool(self.rights & {"close-admin", "close-medical"})
            return action in self.rights

        return tuple(a for a in actions_for(level) if permitted(a))

    @property
    def sees_clinical(self) -> bool:
        return bool(self.practitioners or self.teams or self.informed_teams or self.triage)

    def actor(self, source: str | None = None) -> Actor:
        return Actor(f"user:{self.user_id}:{self.email}", source)


async def load_viewer(session: AsyncSession, user: User, today: date, table: RightsTable = DEFAULT_RIGHTS
                      ) -> Viewer:
    """Compute the viewer's scope from the directory as it is now (absences end by themselves)."""
    rights = table.rights(user.role)
    label = user.email
    practitioners: set[int] = set()
    teams: tuple[int, ...] = ()
    stands_in: list[str] = []
    me: Practitioner | None = None
    if user.practitioner_id is not None and "see-requests" in rights:
        me = await session.get(Practitioner, user.practitioner_id)
    if me is not None:
        label = me.display_name
        practitioners.add(me.id)
        standing_in = (Practitioner.delegate_id == me.id) & (Practitioner.absent_until >= today)
        conditions: list[ColumnElement[bool]] = [standing_in]
        if me.team_id is not None:
            conditions.append(Practitioner.team_id == me.team_id)
            teams = (me.team_id,)
        rows = (await session.execute(
            select(Practitioner.id, Practitioner.delegate_id, Practitioner.absent_until, Practitioner.given_name,
                   Practitioner.family_name, Practitioner.role).where(or_(*conditions)))).all()
        for row in rows:
            practitioners.add(row.id)
            if row.delegate_id == me.id and row.absent_until is not None and row.absent_until >= today:
                prefix = "Dr " if row.role == "mdt" else ""
                stands_in.append(f"{prefix}{row.given_name} {row.family_name}".strip())
    elif "triage" in rights:
        label = "Coordination"
    return Viewer(user_id=user.id, email=user.email, role=user.role, label=label,
                  practitioner_id=me.id if me else None, team_id=me.team_id if me else None,
                  practitioners=tuple(sorted(practitioners)), teams=teams, informed_teams=teams,
                  triage="triage" in rights and "see-requests" in rights, stands_in_for=tuple(sorted(stands_in)),
                  rights=rights, role_label=table.label(user.role))


def access(viewer: Viewer, request: Request) -> str | None:
    if request.assigned_practitioner_id is not None and request.assigned_practitioner_id in viewer.practitioners:
        return "owner"
    if request.assigned_team_id is not None and request.assigned_team_id in viewer.teams:
        return "owner"
    if viewer.triage and request.in_triage:
        return "triage"
    if request.informed_team_id is not None and request.informed_team_id in viewer.informed_teams:
        return "informed"
    return None


def actions_for(level: str | None) -> tuple[str, ...]:
    if level == "owner":
        return OWNER_ACTIONS
    if level == "triage":
        return TRIAGE_ACTIONS
    return ()

