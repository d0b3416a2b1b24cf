"""Checking a client assertion (RFC 7523 ``private_key_jwt``, as SMART Backend Services profiles it).

Contract: ``await AssertionVerifier(clients, replay).verify(token, audiences, now)`` returns the verified
:class:`Assertion` or raises :class:`OAuthError` (``invalid_client``, 401). The checks, in order:
- the header is read without trusting it: ``alg`` must be one of ES256, ES384, RS384, EdDSA (so ``none`` and
  every HMAC are refused before any key is touched); ``jku``, ``x5u``, ``x5c``, ``jwk`` and ``crit`` headers are
  refused; ``kid`` must be a plain token naming one of the client's registered keys;
- the client (``iss``) must be registered and active; the key comes from its registered JWK Set only, and must
  be of the algorithm's type;
- PyJWT verifies the signature with that single algorithm, ``aud`` (the token URL), ``iss`` and ``sub`` (= the
  client id), ``exp``/``nbf``/``iat`` with ``leeway`` seconds of clock skew; ``exp`` may be at most
  ``max_lifetime`` seconds ahead; ``jti`` is required and accepted once (:class:`ReplayStore`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from hub.smart.clients import ClientDirectory, ClientInfo
from hub.smart.errors import OAuthError
from hub.smart.jwks import kid_is_safe
from hub.smart.replay import ReplayStore

ALLOWED_ALGS = ("ES256", "ES384", "RS384", "EdDSA")
FORBIDDEN_HEADERS = ("jku", "x5u", "x5c", "jwk", "crit")
MAX_ASSERTION_LIFETIME = 300
LEEWAY = 30
MAX_ASSERTION_SIZE = 16_384


@dataclass(frozen=True)
class Assertion:
    client: ClientInfo
    jti: str
    expires_at: datetime


def _refuse(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, status=401)


class AssertionVerifier:
    def __init__(self, clients: ClientDirectory, replay: ReplayStore, max_lifetime: int = MAX_ASSERTION_LIFETIME,
                 leeway: int = LEEWAY) -> None:
        self.clients = clients
        self.replay = replay
        self.max_lifetime = max_lifetime
        self.leeway = leeway

    async def verify(self, token: str, audiences: Sequence[str], now: float | None = None) -> Assertion:
        now = time.time() if now is None else now
        if len(token) > MAX_ASSERTION_SIZE:
            raise _refuse("client_assertion is too large")
        header, claims = self._unverified(token)
        alg = header.get("alg")
        if alg not in ALLOWED_ALGS:
            raise _refuse(f"alg {alg!r} is not allowed; use one of {', '.join(ALLOWED_ALGS)}")
        bad = [h for h in FORBIDDEN_HEADERS if h in header]
        if bad:
            raise _refuse(f"header(s) {', '.join(bad)} are refused: keys come only from the registered JWK Set")
        kid = header.get("kid")
        if kid is not None and (not isinstance(kid, str) or not kid_is_safe(kid)):
            raise _refuse("kid must be a plain key id from your registered JWK Set")
        iss = claims.get("iss")
        if not isinstance(iss, str) or not iss:
            raise _refuse("iss (your client id) is missing")
        client = await self.clients.get(iss)
        if client is None:
            raise _refuse("unknown or inactive client (iss)")
        candidates = [k for k in client.keys if k.alg == alg and (kid is None or k.kid == kid)]
        if not candidates:
            raise _refuse(f"no registered key of this client matches kid {kid!r} and alg {alg}")
        verified = self._check_signature(token, candidates, alg, audiences, iss, now)
        exp = float(verified["exp"])
        if exp - now > self.max_lifetime + self.leeway:
            raise _refuse(f"exp is too far ahead: an assertion may live at most {self.max_lifetime} seconds")
        jti = verified.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise _refuse("jti is required (a unique string of at most 256 characters)")
        expires_at = datetime.fromtimestamp(exp + self.leeway, UTC)
        if not await self.replay.first_use(client.id, jti, expires_at):
            raise _refuse("this jti was already used: sign a new assertion with a fresh jti")
        return Assertion(client=client, jti=jti, expires_at=expires_at)

    @staticmethod
    def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise _refuse(f"client_assertion is not a well-formed JWT ({exc})") from exc
        except Exception as exc:  # noqa: BLE001 - garbage input of any shape
            raise _refuse("client_assertion is not a well-formed JWT") from exc
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise _refuse("client_assertion is not a well-formed JWT")
        return header, claims

    def _check_signature(self, token: str, candidates: list[Any], alg: str, audiences: Sequence[str], iss: str,
                         now: float) -> dict[str, Any]:
        last: Exception | None = None
        for candidate in candidates:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token, key=candidate.key, algorithms=[alg], audience=list(audiences), issuer=iss, subject=iss,
                    leeway=self.leeway,
                    options={"require": ["iss", "sub", "aud", "exp", "jti"], "verify_signature": True})
                return claims
            except jwt.InvalidSignatureError as exc:
                last = exc
                continue
            except jwt.ExpiredSignatureError as exc:
                raise _refuse("the assertion has expired (exp)") from exc
            except jwt.ImmatureSignatureError as exc:
                raise _refuse("the assertion is not valid yet (nbf/iat in the future)") from exc
            except jwt.InvalidAudienceError as exc:
                raise _refuse(f"aud must be the token URL: {audiences[0]}") from exc
            except jwt.InvalidIssuerError as exc:
                raise _refuse("iss must be your client id") from exc
            except jwt.exceptions.InvalidSubjectError as exc:
                raise _refuse("sub must equal iss (your client id)") from exc
            except jwt.MissingRequiredClaimError as exc:
                raise _refuse(f"claim {exc.claim!r} is required") from exc
            except jwt.PyJWTError as exc:
                raise _refuse(f"client_assertion refused: {exc}") from exc
        raise _refuse("signature does not verify with the registered key(s)") from last
