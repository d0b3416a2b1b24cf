"""The directory as the connectors see it: employer search for the forms, known senders for email.

Contract:
- ``await directory.employers(name, place)`` → :class:`~hub.directory.search.EmployerSearch` (public form help).
- ``await directory.known_sender(email, rpps)`` → the :class:`KnownSender` whose address (else RPPS) matches, or
  None. ``await directory.mssante_sender(address)``: the one whose MSSanté address (else email) is ``address``.
  Answers are remembered for ``ttl`` seconds (the directory changes seldom: a GP who writes often costs one query
  a minute, not one per message); ``invalidate()`` (called after an import in this process) forgets them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, select

from hub.directory.search import EmployerSearch, search_employers
from hub.store.db import Database
from hub.store.models import Practitioner


@dataclass(frozen=True)
class KnownSender:
    role: str
    display_name: str
    email: str | None
    rpps: str | None


class DirectoryService:
    def __init__(self, db: Database, ttl: float = 60.0, size: int = 2048) -> None:
        self.db, self.ttl, self.size = db, ttl, size
        self._senders: dict[tuple[str | None, str | None], tuple[float, KnownSender | None]] = {}

    async def employers(self, name: str, place: str = "") -> EmployerSearch:
        async with self.db.session() as session:
            return await search_employers(session, name, place)

    def invalidate(self) -> None:
        self._senders.clear()

    async def known_sender(self, email: str | None, rpps: str | None) -> KnownSender | None:
        key, now = ((email or "").lower() or None, rpps), time.monotonic()
        hit = self._senders.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        found = await self._sender(email, rpps)
        if len(self._senders) >= self.size:
            self._senders.clear()
        self._senders[key] = (now, found)
        return found

    async def mssante_sender(self, address: str) -> KnownSender | None:
        """The practitioner whose MSSanté address (else directory email) is ``address``: for a message read from
        the MSSanté mailbox, whose ``From`` the trust space authenticated. Remembered like ``known_sender``."""
        key, now = (f"mssante:{address.lower()}", None), time.monotonic()
        hit = self._senders.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        async with self.db.session() as session, session.begin():
            found = (await session.execute(select(Practitioner).where(
                func.lower(Practitioner.mssante) == address.lower()).limit(1))).scalar_one_or_none()
            if found is None:
                found = (await session.execute(select(Practitioner).where(
                    func.lower(Practitioner.email) == address.lower()).limit(1))).scalar_one_or_none()
        sender = KnownSender(found.role, found.display_name, found.email, found.rpps) if found else None
        if len(self._senders) >= self.size:
            self._senders.clear()
        self._senders[key] = (now, sender)
        return sender

    async def _sender(self, email: str | None, rpps: str | None) -> KnownSender | None:
        async with self.db.session() as session, session.begin():
            found = None
            if email:
                found = (await session.execute(
                    select(Practitioner).where(func.lower(Practitioner.email) == email.lower()).limit(1)
                )).scalar_one_or_none()
            if found is None and rpps:
                found = (await session.execute(
                    select(Practitioner).where(Practitioner.rpps == rpps))).scalar_one_or_none()
        if found is None:
            return None
        return KnownSender(found.role, found.display_name, found.email, found.rpps)
