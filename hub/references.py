"""Human references (``GU-7K3Q-XZ2M``) and unguessable tokens for reply addresses and follow-up links."""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_reference() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"GU-{chars[:4]}-{chars[4:]}"


def new_reply_token() -> str:
    return "".join(secrets.choice(ALPHABET.lower()) for _ in range(16))


def new_follow_up_token() -> str:
    return secrets.token_urlsafe(24)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
