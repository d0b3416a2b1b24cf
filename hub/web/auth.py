"""Inbox logins and sessions.

Contract:
- ``await login(hub, email, password, source)`` checks the Argon2 hash (``hub.accounts.verify_password``) and
  returns a :class:`NewSession` (the random cookie token and the session's CSRF token); the table keeps only the
  token's SHA-256 and an expiry (``hub.session_policy``). Refusals raise :class:`LoginRefused`, in French:
  the same one for an unknown address, a wrong password or a disabled account; after ``MAX_FAILURES``
  consecutive failures from one client address the typed address is locked *for that client* for
  ``LOCK_MINUTES`` ("compte temporairement bloqué, réessayez dans N minutes"), even for the right password, and a
  client address with too many failures overall is throttled: ``hub.web.login_guard`` (an unknown address is
  answered exactly like a locked one); every failure also waits a little longer than the last. The guard's
  counters live in the database, so every instance counts the same failures.
  Every attempt is audited (action ``login``; no password, no health data).
  Every attempt is audited (action ``login``; no password, no health data).
- Second factor (``hub.mfa``, roles whose ``mfa`` is on in ``hub.rights``): ``login(…, otp=…)`` also wants the
  code (or a recovery code); without it the refusal says so (``otp_required``), a wrong one counts as a failure.
  An account not yet enrolled gets a session of stage ``enrol`` (``NewSession.otpauth_uri`` to show as a QR code,
  ``enrol_minutes`` long) that can do nothing but ``confirm_enrolment``, which replaces it with a full session and
  returns the recovery codes, shown once.
- ``await current(hub, request)`` returns the :class:`SessionInfo` behind the request's cookie or ``None``
  (expired, idle longer than ``idle_minutes``, unknown, account disabled); it notes the activity at most once a
  minute. ``end_sessions(session, user_id)`` deletes every session of an account (password change, factor reset,
  disabling, ``guichet users revoke-sessions``).
- ``await logout(hub, token)`` deletes the session row.
- CSRF (what we chose): each session has its own random CSRF token. HTML forms carry it in a hidden field
  ``csrf_token``; JSON POSTs carry it in the ``X-CSRF-Token`` header (``POST /api/login`` and ``GET /api/session``
  return it). Every authenticated POST is refused (403) without the right token, whatever its cookie; on top of
  that the cookie is ``SameSite=Lax`` and a POST whose ``Origin`` names another site is refused. The login form
  itself (no session yet) uses a double-submit token: a ``SameSite=Strict`` cookie matched by a hidden field;
  ``POST /api/login`` requires ``Content-Type: application/json`` (which a cross-site form cannot send) and the
  same ``Origin`` check.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import mfa
from hub.accounts import hash_password, verify_password
from hub.audit import Actor
from hub.references import token_digest
from hub.store.models import User, WebSession, utcnow
from hub.web.login_guard import LOCK_MINUTES as GUARD_LOCK_MINUTES
from hub.web.login_guard import PAIR_MAX, LoginGuard, locked_message  # noqa: F401 - locked_message: re-exported

if TYPE_CHECKING:
    from hub.core import Hub

COOKIE = "guichet_session"
LOGIN_COOKIE = "guichet_login"
MAX_FAILURES = PAIR_MAX
LOCK_MINUTES = GUARD_LOCK_MINUTES
FAILURE_DELAY = 0.05  # seconds, doubled at each consecutive failure, capped at 2 s
BAD_CREDENTIALS = "Adresse électronique ou mot de passe incorrect."
OTP_REQUIRED = "Saisissez le code à 6 chiffres de votre application d'authentification (ou un code de secours)."
BAD_OTP = "Code de vérification incorrect ou déjà utilisé."
SEEN_EVERY = timedelta(minutes=1)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the address is unknown, so that both answers take as long (made at first use)."""
    return hash_password("not-a-real-password-000")


def _verify(stored: str | None, password: str) -> bool:
    return verify_password(stored or _dummy_hash(), password) and stored is not None


class LoginRefused(Exception):
    def __init__(self, message: str, status: int = 401, otp_required: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.otp_required = otp_required


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    user_id: int
    max_age: int
    stage: str = "full"
    otpauth_uri: str | None = None
    recovery_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionInfo:
    token_digest: str
    csrf_token: str
    user: User
    stage: str = "full"


def _open_session(session: AsyncSession, hub: Hub, user: User, now: datetime, factor: mfa.Factor) -> NewSession:
    policy = hub.session_policy
    lifetime = timedelta(minutes=policy.enrol_minutes) if factor.stage == "enrol" else timedelta(hours=policy.hours)
    new = NewSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32), user.id, int(lifetime.total_seconds()),
                     factor.stage, factor.otpauth_uri, factor.recovery_codes)
    session.add(WebSession(token_digest=token_digest(new.token), user_id=user.id, csrf_token=new.csrf_token,
                           created_at=now, last_seen_at=now, expires_at=now + lifetime, stage=factor.stage))
    return new


async def login(hub: Hub, email: str, password: str, source: str | None = None, otp: str | None = None
                ) -> NewSession:
    email = (email or "").strip().lower()
    actor = Actor(f"login:{email[:150]}", source)
    now, failures, guard = utcnow(), 0, LoginGuard(hub)
    async with hub.db.session() as session:
        async with session.begin():
            refusal = await guard.refusal(session, email, source, now)  # unknown and locked look alike
            if refusal is not None:
                await hub.audit.record(session, actor=actor, action="login", entity_type="User",
                                       outcome="denied", detail="throttled")
            else:
                user = (await session.execute(select(User).where(User.email == email).with_for_update())
                        ).scalar_one_or_none() if email else None
                ok = await asyncio.get_running_loop().run_in_executor(  # Argon2 off the event loop
                    None, _verify, user.password_hash if user else None, password or "")
                factor = await mfa.at_login(hub, session, user, otp, now) if user and ok and user.active else None
                if user is not None and factor is not None and factor.problem is None:
                    await guard.succeeded(session, email, source)
                    await session.execute(delete(WebSession).where(WebSession.user_id == user.id,
                                                                   WebSession.expires_at < now))
                    new = _open_session(session, hub, user, now, factor)
                    await hub.audit.record(session, actor=actor, action="login", entity_type="User",
                                           entity_id=str(user.id), detail=f"stage {factor.stage}"
                                           + (", second factor confirmed" if factor.recovery_codes else ""))
                    return new
                if user is not None and factor is not None and factor.problem == "missing":
                    await hub.audit.record(session, actor=actor, action="login", entity_type="User",
                                           entity_id=str(user.id), outcome="denied", detail="second factor needed")
                    refusal = LoginRefused(OTP_REQUIRED, otp_required=True)
                else:
                    failures, locked = await guard.failed(session, email, source, now)
                    refusal = locked or (LoginRefused(BAD_OTP, otp_required=True) if factor is not None
                                         else LoginRefused(BAD_CREDENTIALS))
                    await hub.audit.record(session, actor=actor, action="login", entity_type="User",
                                           entity_id=str(user.id) if user else None, outcome="failure",
                                           detail="bad second factor" if factor else "bad credentials")
    await asyncio.sleep(min(2.0, FAILURE_DELAY * 2 ** max(failures - 1, 0)) if failures else FAILURE_DELAY)
    raise refusal


async def current(hub: Hub, request: web.Request) -> SessionInfo | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 100:
        return None
    digest = token_digest(token)
    async with hub.db.session() as session:
        row = (await session.execute(
            select(WebSession, User).join(User, User.id == WebSession.user_id)
            .where(WebSession.token_digest == digest))).first()
        if row is None:
            return None
        web_session, user = row
        now, idle = utcnow(), timedelta(minutes=hub.session_policy.idle_minutes)
        seen = web_session.last_seen_at or web_session.created_at
        if web_session.expires_at <= now or seen + idle <= now or not user.active:
            await session.execute(delete(WebSession).where(WebSession.token_digest == digest))
            await session.commit()
            return None
        if now - seen >= SEEN_EVERY:
            web_session.last_seen_at = now
            await session.commit()
    return SessionInfo(digest, web_session.csrf_token, user, web_session.stage)


async def confirm_enrolment(hub: Hub, info: SessionInfo, code: str, source: str | None = None
                            ) -> tuple[NewSession, tuple[str, ...]]:
    """The first code of a new factor: the enrolment session is replaced by a full one; the recovery codes are
    returned once. Raises :class:`LoginRefused` (400) when the code is wrong."""
    now = utcnow()
    actor = Actor(f"user:{info.user.id}:{info.user.email}", source)
    async with hub.db.session() as session, session.begin():
        user = (await session.execute(select(User).where(User.id == info.user.id).with_for_update())).scalar_one()
        codes = await mfa.confirm(hub, session, user, code, now) if info.stage == "enrol" and user.active else None
        if codes is None:  # the refusal is audited (committed), then raised
            await hub.audit.record(session, actor=actor, action="login", entity_type="User", entity_id=str(user.id),
                                   outcome="failure", detail="second factor enrolment: wrong code")
        else:
            await session.execute(delete(WebSession).where(WebSession.token_digest == info.token_digest))
            new = _open_session(session, hub, user, now, mfa.Factor())
            await hub.audit.record(session, actor=actor, action="login", entity_type="User", entity_id=str(user.id),
                                   detail="second factor enrolled")
    if codes is None:
        raise LoginRefused("Code incorrect : vérifiez l'heure de votre téléphone et saisissez le code affiché par "
                           "l'application.", 400)
    return new, tuple(codes)


async def logout(hub: Hub, info: SessionInfo, source: str | None = None) -> None:
    async with hub.db.session() as session, session.begin():
        await session.execute(delete(WebSession).where(WebSession.token_digest == info.token_digest))
        await hub.audit.record(session, actor=Actor(f"user:{info.user.id}:{info.user.email}", source),
                               action="logout", entity_type="User", entity_id=str(info.user.id))


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def same_origin(request: web.Request) -> bool:
    """False when the request names another site as its ``Origin`` (absent or ``null`` is left to the token)."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return True
    return origin.rstrip("/") == f"{request.scheme}://{request.host}"


def cookie_secure(hub: Hub) -> bool:
    """Cookies are ``Secure`` when we serve TLS or are published behind an ``https://`` URL."""
    settings = hub.settings
    return settings.tls_enabled or (settings.public_url or "").lower().startswith("https://")


def set_session_cookie(response: web.StreamResponse, new: NewSession, secure: bool) -> None:
    response.set_cookie(COOKIE, new.token, max_age=new.max_age, path="/", httponly=True, samesite="Lax",
                        secure=secure)


def clear_session_cookie(response: web.StreamResponse, secure: bool) -> None:
    response.del_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="Lax")


def client_source(request: web.Request) -> str | None:
    return request.remote
