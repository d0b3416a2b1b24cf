"""The second factor: TOTP (RFC 6238, via ``pyotp``) and one-time recovery codes.

Contract (every function works in the caller's session; none commits):
- ``await start_enrolment(hub, session, user)`` gives the account a fresh secret, not yet confirmed (the former
  factor and recovery codes are gone) and returns the ``otpauth://`` URI. ``await pending_uri(…)`` returns the URI
  of the unconfirmed secret (making one if there is none), so that reloading the enrolment page shows the same QR.
- ``await confirm(hub, session, user, code, now)`` checks a code against the unconfirmed secret; on success the
  factor is confirmed and the ten recovery codes are returned (shown once; only their SHA-256 is kept). ``None``
  when the code is wrong.
- ``await check(hub, session, user, code, now)`` is the login check of a confirmed factor: a TOTP code of the
  current time step or the one before or after, never one already used (the last accepted step is kept), or an
  unused recovery code (then spent).
- ``await at_login(hub, session, user, code, now)`` is the whole second step of a login whose password was right:
  a :class:`Factor` saying ``full`` (no factor for this role, or a good code; a good code for an unconfirmed
  secret confirms it and carries the new recovery codes), ``enrol`` (the factor is still to be set up: the URI
  to show), or a ``problem``: ``missing`` (a code is needed) or ``wrong`` (counts as a failed login).
- ``qr_svg(uri)`` is the QR code as inline SVG, drawn here (``segno``): no external service sees the secret.
The secret is sealed like health data (``hub.store.sealing``, a data key per account, AAD ``users:<id>:totp``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import pyotp
import segno
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.models import User

if TYPE_CHECKING:
    from hub.core import Hub

ISSUER = "Guichet santé travail"
STEP = 30
RECOVERY_CODES = 10
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from paper


def _normalise(code: str) -> str:
    return "".join(c for c in (code or "").upper() if c.isalnum())


def _digest(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def secret_of(otpauth_uri: str) -> str:
    return str(pyotp.parse_uri(otpauth_uri).secret)


def qr_svg(otpauth_uri: str) -> str:
    return str(segno.make(otpauth_uri, error="m").svg_inline(
        scale=5, title="Code QR à scanner avec votre application d'authentification", svgclass="qr", lineclass=None))


def enrolled(user: User) -> bool:
    return user.totp_confirmed_at is not None and user.totp_secret_enc is not None


async def stored_secret(hub: Hub, session: AsyncSession, user: User) -> str | None:
    if user.totp_secret_enc is None or user.totp_key_id is None:
        return None
    return await hub.sealer.open_text(session, user.totp_key_id, "users", str(user.id), "totp", user.totp_secret_enc)


async def start_enrolment(hub: Hub, session: AsyncSession, user: User) -> str:
    secret = pyotp.random_base32()
    key = hub.sealer.new_key(session)
    user.totp_key_id, user.totp_secret_enc = key.id, hub.sealer.seal(key, "users", str(user.id), "totp", secret)
    user.totp_confirmed_at, user.totp_last_step, user.recovery_hashes = None, None, None
    await session.flush()
    return uri(secret, user.email)


async def pending_uri(hub: Hub, session: AsyncSession, user: User) -> str:
    secret = await stored_secret(hub, session, user) if not enrolled(user) else None
    return uri(secret, user.email) if secret else await start_enrolment(hub, session, user)


def _totp_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step whose code this is (current, previous or next), if it was not used yet."""
    digits = _normalise(code)
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp, current = pyotp.TOTP(secret), int(now.timestamp()) // STEP
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.at(step * STEP), digits) and (after is None or step > after):
            return step
    return None


async def confirm(hub: Hub, session: AsyncSession, user: User, code: str, now: datetime) -> list[str] | None:
    secret = await stored_secret(hub, session, user)
    step = _totp_step(secret, code, now, None) if secret and not enrolled(user) else None
    if step is None:
        return None
    codes = ["-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(2))
             for _ in range(RECOVERY_CODES)]
    user.totp_confirmed_at, user.totp_last_step = now, step
    user.recovery_hashes = json.dumps([_digest(c) for c in codes])
    return codes


async def check(hub: Hub, session: AsyncSession, user: User, code: str, now: datetime) -> bool:
    secret = await stored_secret(hub, session, user) if enrolled(user) else None
    if secret is None or not code:
        return False
    step = _totp_step(secret, code, now, user.totp_last_step)
    if step is not None:
        user.totp_last_step = step
        return True
    hashes: list[str] = json.loads(user.recovery_hashes or "[]")
    given = _digest(code)
    match = next((h for h in hashes if hmac.compare_digest(h, given)), None)
    if match is None or len(_normalise(code)) != 10:
        return False
    hashes.remove(match)
    user.recovery_hashes = json.dumps(hashes)
    return True


def remove(user: User) -> None:
    user.totp_key_id = user.totp_secret_enc = None
    user.totp_confirmed_at = user.totp_last_step = user.recovery_hashes = None


@dataclass(frozen=True)
class Factor:
    stage: str = "full"
    otpauth_uri: str | None = None
    recovery_codes: tuple[str, ...] = ()
    problem: str | None = None  # "missing" | "wrong"


async def at_login(hub: Hub, session: AsyncSession, user: User, code: str | None, now: datetime) -> Factor:
    if not hub.rights.needs_mfa(user.role):
        return Factor()
    if enrolled(user):
        if not code:
            return Factor(problem="missing")
        return Factor() if await check(hub, session, user, code, now) else Factor(problem="wrong")
    codes = await confirm(hub, session, user, code, now) if code else None
    if codes is not None:
        return Factor(recovery_codes=tuple(codes))
    return Factor(stage="enrol", otpauth_uri=await pending_uri(hub, session, user))
