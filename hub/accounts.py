"""Inbox accounts: creation and password checks (Argon2id via argon2-cffi).

Contract: ``await add_user(session, email, role, password, rpps=…, structure_id=…)`` creates or updates the
account (a physician/nurse/assistant must name a practitioner of the directory by RPPS; a coordinator may name
a CPTS/DAC; ``password_hash``, when given, must be a hash of that same password computed by the caller: the
demo's accounts share one password, hashed once per process); updating an existing account (its password, its
role) ends all its sessions. ``check_password`` refuses a password shorter than ``MIN_PASSWORD`` or containing the
address's local part (or a piece of it of 4 letters or more). ``verify_password`` is constant-time; ``await
hash_password_async`` hashes in a worker thread (Argon2 costs tens of milliseconds: never on the event loop).
``await end_sessions(session, user_id)`` deletes every session.
"""

from __future__ import annotations

import asyncio
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.models import Practitioner, Structure, User, WebSession, utcnow
from hub.store.models.security import USER_ROLES

HASHER = PasswordHasher()
MIN_PASSWORD = 12
ROLES_NEEDING_PRACTITIONER = ("physician", "nurse", "assistant")


class AccountError(ValueError):
    """A message for the administrator, in French."""


def hash_password(password: str) -> str:
    return HASHER.hash(password)


async def hash_password_async(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, HASHER.hash, password)


def check_password(email: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"mot de passe trop court : {MIN_PASSWORD} caractères au minimum")
    local = email.strip().lower().partition("@")[0]
    lowered = password.lower()
    pieces = [local, *(p for p in re.split(r"[.\-_+]", local) if len(p) >= 4)]
    if any(p and p in lowered for p in pieces):
        raise AccountError("mot de passe refusé : il ne doit pas contenir votre adresse électronique (ni une "
                           "partie de votre identifiant)")


async def end_sessions(session: AsyncSession, user_id: int) -> int:
    """Delete every web session of the account; return how many there were."""
    result = await session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def verify_password(stored: str, password: str) -> bool:
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def add_user(session: AsyncSession, email: str, role: str, password: str, rpps: str | None = None,
                   structure_id: str | None = None, password_hash: str | None = None) -> User:
    email = email.strip().lower()
    if role not in USER_ROLES:
        raise AccountError(f"rôle inconnu « {role} » (attendus : {', '.join(USER_ROLES)})")
    if "@" not in email:
        raise AccountError(f"adresse électronique invalide : {email}")
    check_password(email, password)
    practitioner_id = None
    if rpps:
        practitioner = (await session.execute(
            select(Practitioner).where(Practitioner.rpps == rpps))).scalar_one_or_none()
        if practitioner is None:
            raise AccountError(f"aucun praticien de RPPS {rpps} dans l'annuaire (importez-le d'abord)")
        practitioner_id = practitioner.id
    elif role in ROLES_NEEDING_PRACTITIONER:
        raise AccountError(f"le rôle {role} doit être rattaché à un praticien de l'annuaire : --rpps")
    if structure_id and await session.get(Structure, structure_id) is None:
        raise AccountError(f"aucune CPTS/DAC d'identifiant {structure_id} dans l'annuaire")
    user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    if user is None:
        user = User(email=email, password_hash="", role=role)
        session.add(user)
    else:  # a new password (or role): every session of the account ends
        await end_sessions(session, user.id)
    user.password_hash = password_hash or await hash_password_async(password)
    user.password_changed_at = utcnow()
    user.role, user.practitioner_id, user.structure_id = role, practitioner_id, structure_id
    user.failed_logins, user.locked_until, user.active = 0, None, True
    await session.flush()
    return user
