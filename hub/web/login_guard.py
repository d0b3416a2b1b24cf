"""Login throttling that tells nobody which addresses have an account, and lets nobody lock a physician out.

Contract (``LoginGuard(hub)``, used by ``hub.web.auth.login`` inside its transaction):
- ``await guard.refusal(session, email, source, now)`` → a :class:`LoginRefused` (429, French) when this client
  address is throttled (``CLIENT_MAX`` failures in ``WINDOW``, whatever the addresses typed) or when the typed
  address is locked *for this client* (``PAIR_MAX`` consecutive failures: ``LOCK_MINUTES``), else ``None``.
  The password is then not even checked.
- ``await guard.failed(…)`` → ``(consecutive failures of the pair, refusal)`` after counting one failure;
  ``await guard.succeeded(…)`` clears the pair's count.
Counters are keyed hashes of what was typed and of the client address, kept in ``login_throttle`` (shared by
every instance): an address without an account is counted, locked and answered exactly like one with an account,
and the lock an attacker provokes holds for the attacker's address only, never for the physician's own.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.models import LoginThrottle

if TYPE_CHECKING:
    from hub.core import Hub
    from hub.web.auth import LoginRefused

PAIR_MAX = 5
LOCK_MINUTES = 15
CLIENT_MAX = 30
WINDOW = timedelta(minutes=15)


def locked_message(minutes: int) -> str:
    return f"Compte temporairement bloqué, réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."


def _refused(until: datetime, now: datetime) -> LoginRefused:
    from hub.web.auth import LoginRefused

    return LoginRefused(locked_message(max(1, math.ceil((until - now).total_seconds() / 60))), 429)


class LoginGuard:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def _keys(self, email: str, source: str | None) -> tuple[str, str]:
        client = source or "-"
        return (self.hub.hasher.digest("login-pair", f"{email.strip().lower()} {client}"),
                self.hub.hasher.digest("login-client", client))

    async def _row(self, session: AsyncSession, digest: str, now: datetime) -> LoginThrottle:
        insert = pg_insert if self.hub.db.is_postgres else sqlite_insert
        await session.execute(insert(LoginThrottle).values(digest=digest, failures=0, window_start=now)
                              .on_conflict_do_nothing(index_elements=["digest"]))
        return (await session.execute(select(LoginThrottle).where(LoginThrottle.digest == digest)
                                      .with_for_update())).scalar_one()

    async def refusal(self, session: AsyncSession, email: str, source: str | None,
                      now: datetime) -> LoginRefused | None:
        pair, client = self._keys(email, source)
        rows = {r.digest: r for r in (await session.execute(
            select(LoginThrottle).where(LoginThrottle.digest.in_([pair, client])))).scalars()}
        for digest in (client, pair):
            row = rows.get(digest)
            if row is not None and row.locked_until is not None and row.locked_until > now:
                return _refused(row.locked_until, now)
        return None

    async def failed(self, session: AsyncSession, email: str, source: str | None,
                     now: datetime) -> tuple[int, LoginRefused | None]:
        pair_key, client_key = self._keys(email, source)
        client = await self._row(session, client_key, now)
        if client.window_start + WINDOW < now:
            client.failures, client.window_start = 0, now
        client.failures += 1
        if client.failures >= CLIENT_MAX:
            client.locked_until, client.failures, client.window_start = now + WINDOW, 0, now
        pair = await self._row(session, pair_key, now)
        pair.failures += 1
        failures, refusal = pair.failures, None
        if pair.failures >= PAIR_MAX:
            pair.locked_until, pair.failures = now + timedelta(minutes=LOCK_MINUTES), 0
            refusal = _refused(pair.locked_until, now)
        elif client.locked_until is not None and client.locked_until > now:
            refusal = _refused(client.locked_until, now)
        return failures, refusal

    async def succeeded(self, session: AsyncSession, email: str, source: str | None) -> None:
        pair_key, _ = self._keys(email, source)
        row = await session.get(LoginThrottle, pair_key)
        if row is not None:
            row.failures, row.locked_until = 0, None
