"""What an administrator does to inbox accounts (``guichet users …``): list, disable, enable, end the sessions,
reset the second factor. Each is one audited transaction.

Contract:
- ``await list_accounts(hub)`` returns :class:`AccountRow` (address, role, active, second factor state, open
  sessions, last login) sorted by address; no health data.
- ``await set_active(hub, email, active, actor)`` disables (every session ends at once: the next request answers
  401) or enables an account; ``await revoke_sessions(hub, email, actor)`` ends its sessions and returns how many.
- ``await mfa_reset(hub, email, actor)`` removes the factor and its recovery codes, ends every session, and
  returns a fresh ``otpauth://`` URI (sealed in the account, unconfirmed): the person scans it, and their first
  login with a code from it confirms it; without it they are offered the same URI as a QR code at login.
Unknown address: :class:`~hub.accounts.AccountError` (French).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import mfa
from hub.accounts import AccountError, end_sessions
from hub.audit import Actor
from hub.store.models import AuditEvent, User, WebSession, utcnow

if TYPE_CHECKING:
    from hub.core import Hub


@dataclass(frozen=True)
class AccountRow:
    email: str
    role: str
    active: bool
    mfa: str  # "actif", "à activer", "non requis"
    sessions: int
    last_login: datetime | None


async def _user(session: AsyncSession, email: str) -> User:
    user = (await session.execute(select(User).where(User.email == email.strip().lower()).with_for_update())
            ).scalar_one_or_none()
    if user is None:
        raise AccountError(f"aucun compte pour l'adresse {email}")
    return user


async def list_accounts(hub: Hub) -> list[AccountRow]:
    now = utcnow()
    async with hub.db.session() as session:
        users = (await session.execute(select(User).order_by(User.email))).scalars().all()
        open_sessions = dict((await session.execute(
            select(WebSession.user_id, func.count()).where(WebSession.expires_at > now)
            .group_by(WebSession.user_id))).all())
        last = dict((await session.execute(
            select(AuditEvent.entity_id, func.max(AuditEvent.at)).where(
                AuditEvent.action == "login", AuditEvent.outcome == "success", AuditEvent.entity_type == "User")
            .group_by(AuditEvent.entity_id))).all())
    return [AccountRow(u.email, u.role, u.active,
                       "actif" if mfa.enrolled(u) else "à activer" if hub.rights.needs_mfa(u.role) else "non requis",
                       int(open_sessions.get(u.id, 0)), last.get(str(u.id))) for u in users]


async def set_active(hub: Hub, email: str, active: bool, actor: Actor) -> None:
    async with hub.db.session() as session, session.begin():
        user = await _user(session, email)
        user.active = active
        if not active:
            await end_sessions(session, user.id)
        else:
            user.failed_logins, user.locked_until = 0, None
        await hub.audit.record(session, actor=actor, action="update", entity_type="User", entity_id=str(user.id),
                               detail="account enabled" if active else "account disabled, sessions ended")


async def revoke_sessions(hub: Hub, email: str, actor: Actor) -> int:
    async with hub.db.session() as session, session.begin():
        user = await _user(session, email)
        ended = await end_sessions(session, user.id)
        await hub.audit.record(session, actor=actor, action="update", entity_type="User", entity_id=str(user.id),
                               detail=f"{ended} session(s) ended")
    return ended


async def mfa_reset(hub: Hub, email: str, actor: Actor) -> str:
    async with hub.db.session() as session, session.begin():
        user = await _user(session, email)
        mfa.remove(user)
        uri = await mfa.start_enrolment(hub, session, user)
        await end_sessions(session, user.id)
        await hub.audit.record(session, actor=actor, action="update", entity_type="User", entity_id=str(user.id),
                               detail="second factor reset, sessions ended")
    return uri
