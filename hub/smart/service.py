"""The SMART facade the FHIR connector calls: token requests, bearer checks, discovery documents.

Contract:
- ``await auth.token_request(form, now=None) -> TokenResponse`` implements the ``client_credentials`` grant with a
  ``private_key_jwt`` assertion; refusals raise :class:`OAuthError` (400 ``invalid_request``/
  ``unsupported_grant_type``/``invalid_scope``, 401 ``invalid_client``, 429 with ``retry_after``). The granted
  scopes are those requested that the client is registered for.
- ``await auth.authenticate(authorization_header, needed_scope) -> AccessGrant`` checks the bearer token, that
  its client is still active, the scope and the client's rate limit; raises :class:`AuthError` (401/403/429).
Rate limits are token buckets per client kept in the database (``hub.scale.ratelimit``), so every instance counts
against the same limit: by default 2 token requests per second with a burst of 20, and 200 API calls per second
with a burst of 400; ``guichet.toml`` keys ``token_rate``, ``token_burst``, ``api_rate``, ``api_burst`` change them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jwt

from hub.scale.ratelimit import Bucket
from hub.settings_check import number
from hub.smart.assertion import ALLOWED_ALGS, AssertionVerifier
from hub.smart.clients import ClientDirectory
from hub.smart.errors import AuthError, OAuthError
from hub.smart.replay import ReplayStore
from hub.smart.scopes import KNOWN_SCOPES, covers, parse_scopes
from hub.smart.tokens import AccessTokens

if TYPE_CHECKING:
    from hub.core import Hub

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    expires_in: int
    scope: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret

    def body(self) -> dict[str, object]:
        return {"access_token": self.access_token, "token_type": self.token_type, "expires_in": self.expires_in,
                "scope": self.scope}


@dataclass(frozen=True)
class AccessGrant:
    """Who calls the API: the client, its structure (CPTS/DAC) and the scopes its token carries."""

    client_id: str
    client_name: str
    structure_id: str
    scopes: tuple[str, ...]


def _retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


class SmartAuth:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        extra = hub.settings.extra
        self.clients = ClientDirectory(hub.db)
        self.replay = ReplayStore(hub.db)
        self.verifier = AssertionVerifier(self.clients, self.replay)
        self.tokens = AccessTokens(hub.keystore.token_signing_key())
        self.token_limit = hub.limits.limit(Bucket("smart-token", number(extra, "token_rate", 2.0),
                                                   number(extra, "token_burst", 20)))
        self.api_limit = hub.limits.limit(Bucket("smart-api", number(extra, "api_rate", 200.0),
                                                 number(extra, "api_burst", 400)))

    # -- URLs (read at call time: the listener's port is known only once the server is up) --------------
    @property
    def base_url(self) -> str:
        return self.hub.settings.base_url

    @property
    def token_url(self) -> str:
        return self.base_url + "/oauth/token"

    @property
    def fhir_base(self) -> str:
        return self.base_url + "/fhir"

    def token_audiences(self) -> list[str]:
        """The forms of the token URL an assertion's ``aud`` may name: the public URL and the listener's."""
        s = self.hub.settings
        scheme = "https" if s.tls_enabled else "http"
        forms = [self.token_url, f"{scheme}://{s.http_host}:{s.http_port}/oauth/token"]
        out: list[str] = []
        for form in forms:
            for variant in (form, form + "/"):
                if variant not in out:
                    out.append(variant)
        return out

    # -- the token endpoint -------------------------------------------------------------------------
    async def token_request(self, form: Mapping[str, str]) -> TokenResponse:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is required (client_credentials)")
        if grant_type != GRANT_TYPE:
            raise OAuthError("unsupported_grant_type", f"grant_type must be {GRANT_TYPE}")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        assertion = form.get("client_assertion")
        if not assertion:
            raise OAuthError("invalid_request", "client_assertion is required (a JWT signed with your key)")
        requested = parse_scopes(form.get("scope"))
        if not requested:
            raise OAuthError("invalid_scope", f"scope is required, e.g. {' '.join(KNOWN_SCOPES)}")
        verified = await self.verifier.verify(assertion, self.token_audiences())
        client = verified.client
        wait = await self.token_limit.take(client.id)
        if wait > 0:
            raise OAuthError("temporarily_unavailable", "too many token requests for this client; retry later",
                             status=429, retry_after=_retry_after(wait))
        granted = [s for s in requested if any(covers([r], s) for r in client.scopes)]
        if not granted:
            raise OAuthError("invalid_scope", "none of the requested scopes is allowed for this client "
                             f"(registered: {' '.join(client.scopes)})")
        token, expires_in = self.tokens.issue(client.id, client.structure_id, granted, self.base_url,
                                              self.fhir_base)
        return TokenResponse(token, expires_in, " ".join(granted))

    # -- bearer checks -------------------------------------------------------------------------------
    async def authenticate(self, authorization: str | None, needed_scope: str) -> AccessGrant:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError(401, "login", "Jeton d'accès manquant : envoyez « Authorization: Bearer <jeton> » "
                            "obtenu sur /oauth/token.",
                            "Missing access token: send 'Authorization: Bearer <token>' obtained from /oauth/token.")
        try:
            claims = self.tokens.verify(token, self.base_url, self.fhir_base)
        except jwt.ExpiredSignatureError as exc:
            raise AuthError(401, "expired", "Le jeton d'accès a expiré : demandez-en un nouveau.",
                            "The access token has expired: request a new one.") from exc
        except Exception as exc:  # noqa: BLE001 - any malformed or forged token
            raise AuthError(401, "invalid", "Jeton d'accès invalide : demandez-en un sur /oauth/token.",
                            "Invalid access token: request one from /oauth/token.") from exc
        client = await self.clients.get(str(claims.get("sub", "")))
        if client is None:
            raise AuthError(401, "invalid", "Ce client n'est plus autorisé.", "This client is no longer active.")
        scopes = tuple(parse_scopes(str(claims.get("scope", ""))))
        if not covers(scopes, needed_scope):
            raise AuthError(403, "forbidden", f"Portée manquante : ce jeton n'autorise pas {needed_scope}.",
                            f"Missing scope: this token does not grant {needed_scope}.")
        wait = await self.api_limit.take(client.id)
        if wait > 0:
            raise AuthError(429, "throttled", "Trop de requêtes pour ce client : réessayez plus tard.",
                            "Too many requests for this client: retry later.", retry_after=_retry_after(wait))
        return AccessGrant(client.id, client.name, client.structure_id, scopes)

    # -- discovery -----------------------------------------------------------------------------------
    def smart_configuration(self) -> dict[str, object]:
        return {
            "issuer": self.base_url,
            "token_endpoint": self.token_url,
            "jwks_uri": self.base_url + "/.well-known/jwks.json",
            "grant_types_supported": [GRANT_TYPE],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": list(ALLOWED_ALGS),
            "scopes_supported": list(KNOWN_SCOPES),
            "capabilities": ["client-confidential-asymmetric"],
        }

    def jwks(self) -> dict[str, object]:
        return {"keys": [self.tokens.public_jwk()]}
