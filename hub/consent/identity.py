"""Whose consent: a keyed worker identity.

Contract: ``worker_key(hasher, worker, fallback)`` returns the HMAC (``hub.crypto.lookup.LookupHasher``) of the
worker's INS when the identity is qualified (an INS is only ever sent for a qualified identity), else of the
stable INS traits available everywhere — birth family name, first given name, birth date —, else (no usable
identity) of ``fallback`` (the request id): that request's decisions then stand alone. ``worker`` is the draft's
``Person`` or the stored payload's ``worker`` dict. The identity itself is never stored.
"""

from __future__ import annotations

from typing import Any

from hub.crypto.lookup import LookupHasher, normalise_text


def _get(worker: Any, name: str) -> str:
    value = worker.get(name) if isinstance(worker, dict) else getattr(worker, name, None)
    return "" if value is None else str(value)


def worker_key(hasher: LookupHasher, worker: Any, fallback: str) -> str:
    if worker is not None:
        ins = _get(worker, "ins").strip()
        if ins:
            return hasher.digest("consent-ins", ins)
        family = normalise_text(_get(worker, "family_name"))
        given = normalise_text(_get(worker, "given_names")).split(" ")[0]
        born = _get(worker, "birth_date")[:10]
        if family and given and born:
            return hasher.digest("consent-traits", f"{family}|{given}|{born}")
    return hasher.digest("consent-request", fallback)
