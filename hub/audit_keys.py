"""The audit chain's key: keyed entry hashes, pseudonyms for identities in actors, signed checkpoints.

Contract:
- ``AuditKeys(key)`` holds the key store's ``audit.key`` (never in the database). ``entry_hash(…)`` is
  ``HMAC-SHA256(key, prev_hash | seq | fields)`` for the ``hmac-sha256`` scheme (``sha256``, the unkeyed scheme
  of chains written before revision 0003, is kept only to verify and convert them).
- ``pseudonym(kind, value)`` is a keyed hash (``h:`` and 20 hex digits) standing for an identity the audit must
  not keep in clear (the address of a worker writing by email, whatever was typed as a login); the same value
  always gives the same pseudonym, so ``guichet audit who ADDRESS`` can find an actor's entries.
- ``protect(label)`` pseudonymises the identity part of actor labels ``email:…`` and ``login:…``.
- ``sign(text)`` / ``signed(text, mac)`` authenticate checkpoint files.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

KEYED = "hmac-sha256"
LEGACY = "sha256"
PSEUDONYMISED = ("email:", "login:")


class AuditKeys:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def entry_hash(self, prev_hash: str, seq: int, at: datetime, actor: str, action: str, entity_type: str,
                   entity_id: str | None, outcome: str, source: str | None, detail: str | None,
                   scheme: str = KEYED) -> str:
        fields = [prev_hash, str(seq), at.strftime("%Y-%m-%dT%H:%M:%S.%f"), actor, action, entity_type,
                  entity_id or "", outcome, source or "", detail or ""]
        data = "\x1f".join(fields).encode("utf-8")
        if scheme == LEGACY:
            return hashlib.sha256(data).hexdigest()
        return hmac.new(self._key, b"entry\x1f" + data, hashlib.sha256).hexdigest()

    def pseudonym(self, kind: str, value: str) -> str:
        mac = hmac.new(self._key, f"actor\x1f{kind}\x1f{value.strip().lower()}".encode(), hashlib.sha256)
        return "h:" + mac.hexdigest()[:20]

    def protect(self, label: str) -> str:
        for prefix in PSEUDONYMISED:
            if label.startswith(prefix) and not label.startswith(prefix + "h:"):
                return prefix + self.pseudonym(prefix[:-1], label[len(prefix):])
        return label

    def sign(self, text: str) -> str:
        return hmac.new(self._key, b"checkpoint\x1f" + text.encode(), hashlib.sha256).hexdigest()

    def signed(self, text: str, mac: str) -> bool:
        return hmac.compare_digest(self.sign(text), mac)
