"""Delivery reports are believed only when they come back to a VERP return path naming one outbound row.

Every email the outbox sends has its own envelope sender, ``<local>+b.<row id>.<mac>@<domain>``, where ``mac`` is
a keyed hash of the row id (the key store's index key): a report about it comes back to that address, and only a
report to such an address, with a valid mac, can put that row in dead letter. A report sent to the plain address,
or naming a Message-ID, or forged by someone who does not know the key, changes nothing.

Contract (``ReturnPaths(db, hasher, address)``, ``hub.return_paths``):
- ``address(row_id)`` → the VERP address; ``row_of(token)`` → the row id of a ``b.…`` token whose mac is right,
  else ``None``;
- ``await believe(row_id, diagnostic)`` → the row's thread id after marking the row ``dead`` with
  ``last_error = "bounce: <diagnostic>"`` (control characters stripped), or ``None`` for an unknown row.
``printable(text)``: ``text`` without control characters (what a command may print of stored text).
"""

from __future__ import annotations

import hmac
import re

from hub.crypto.lookup import LookupHasher
from hub.store.db import Database
from hub.store.models import OutboxItem

PREFIX = "b."
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Control characters (terminal escapes, bidi overrides) replaced by a space; newlines and tabs too."""
    return _CONTROL.sub(" ", text.replace("\n", " ").replace("\t", " "))


class ReturnPaths:
    def __init__(self, db: Database, hasher: LookupHasher, address: str) -> None:
        self.db = db
        self.hasher = hasher
        self.local, _, self.domain = address.lower().rpartition("@")

    def _mac(self, row_hex: str) -> str:
        return self.hasher.digest("bounce", row_hex)[:12].lower()

    def address(self, row_id: str) -> str:
        row_hex = row_id.replace("-", "").lower()
        return f"{self.local}+{PREFIX}{row_hex}.{self._mac(row_hex)}@{self.domain}"

    def row_of(self, token: str) -> str | None:
        match = re.fullmatch(r"b\.([0-9a-f]{32})\.([0-9a-f]{12})", token.lower())
        if match is None or not hmac.compare_digest(match.group(2), self._mac(match.group(1))):
            return None
        h = match.group(1)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    async def believe(self, row_id: str, diagnostic: str) -> str | None:
        async with self.db.session() as session, session.begin():
            row = await session.get(OutboxItem, row_id)
            if row is None or row.kind != "email":
                return None
            row.status, row.last_error = "dead", f"bounce: {printable(diagnostic)}"[:500]
            return row.thread_id
