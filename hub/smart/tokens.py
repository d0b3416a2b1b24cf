"""Access tokens the hub issues: a JWT signed ES256 with the hub's token-signing key (``keys/token-signing.pem``).

Contract: ``AccessTokens(private_key).issue(client_id, structure_id, scopes, issuer, audience)`` returns
``(token, expires_in)``; ``verify(token, issuer, audience)`` returns the claims or raises ``jwt.PyJWTError``.
Tokens live ``lifetime`` seconds (5 minutes); they carry the client id (``sub``/``client_id``), its structure
and the granted scopes. Verified tokens are cached until they expire, so a client's calls cost one signature
check per token, not per request.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

ACCESS_TOKEN_LIFETIME = 300


def _b64(n: int, size: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


class AccessTokens:
    def __init__(self, private_key: ec.EllipticCurvePrivateKey, lifetime: int = ACCESS_TOKEN_LIFETIME) -> None:
        self.private_key = private_key
        self.public_key = private_key.public_key()
        self.lifetime = lifetime
        numbers = self.public_key.public_numbers()
        self.kid = "hub-" + _b64(numbers.x, 32)[:16]
        self._verified: dict[str, dict[str, Any]] = {}

    def public_jwk(self) -> dict[str, str]:
        numbers = self.public_key.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": _b64(numbers.x, 32), "y": _b64(numbers.y, 32),
                "kid": self.kid, "alg": "ES256", "use": "sig"}

    def issue(self, client_id: str, structure_id: str, scopes: list[str], issuer: str, audience: str
              ) -> tuple[str, int]:
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience, "sub": client_id, "client_id": client_id,
                  "structure": structure_id, "scope": " ".join(scopes), "iat": now, "exp": now + self.lifetime,
                  "jti": secrets.token_urlsafe(16)}
        token = jwt.encode(claims, self.private_key, algorithm="ES256", headers={"kid": self.kid, "typ": "at+jwt"})
        return token, self.lifetime

    def verify(self, token: str, issuer: str, audience: str) -> dict[str, Any]:
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None:
            if cached["exp"] > now and cached["iss"] == issuer and cached["aud"] == audience:
                return cached
            self._verified.pop(token, None)
        claims: dict[str, Any] = jwt.decode(
            token, key=self.public_key, algorithms=["ES256"], audience=audience, issuer=issuer,
            options={"require": ["iss", "aud", "sub", "exp", "iat", "scope"]})
        if len(self._verified) > 50_000:
            self._verified = {t: c for t, c in self._verified.items() if c["exp"] > now}
            if len(self._verified) > 50_000:
                self._verified.clear()
        self._verified[token] = claims
        return claims
