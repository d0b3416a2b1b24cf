"""Keyed hashes (HMAC-SHA256) for looking records up by identifier without storing the identifier.

Contract: ``LookupHasher.digest(kind, value)`` is deterministic for one index key; values are normalised first
(accents and case folded, spaces collapsed, digits-only for numeric identifiers) so that "Dupont", "DUPONT "
and "Dupônt" find the same record. ``kind`` separates domains: a SIRET never collides with a name.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

NUMERIC_KINDS = {"siret", "rpps", "ins", "nir"}


def normalise_text(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^A-Z0-9]+", " ", stripped.upper()).strip()


class LookupHasher:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, kind: str, value: str) -> str:
        if kind in NUMERIC_KINDS:
            norm = re.sub(r"\D", "", value)
        else:
            norm = normalise_text(value)
        mac = hmac.new(self._key, f"{kind}\x1f{norm}".encode(), hashlib.sha256)
        return mac.hexdigest()[:40]

    def name_digests(self, family_name: str, given_name: str | None = None) -> list[str]:
        """Digests a worker can be searched by: family name alone, and family + first given name."""
        out = [self.digest("family", family_name)]
        if given_name:
            first = normalise_text(given_name).split(" ")[0] if normalise_text(given_name) else ""
            if first:
                out.append(self.digest("fullname", f"{family_name} {first}"))
        return out
