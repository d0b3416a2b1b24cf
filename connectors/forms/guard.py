"""Abuse protection of the public forms: CSRF tokens, a per-address rate limit, the client address.

CSRF: a *signed double-submit cookie*, no server-side state. The browser gets a random value in an HttpOnly,
SameSite=Lax cookie; the form carries ``HMAC-SHA256(key, value)``. A POST is accepted only when both are
present and match (constant-time compare), and when its ``Origin`` header, if any, is this site. Another site can
neither read the cookie nor compute the HMAC (the key is derived from the key store's index key with a label of
its own, so every instance sharing the key store accepts the tokens of the others); a cookie planted by a sibling
domain fails the signature check.

Rate limits per client address are token buckets in the database (``hub.scale.ratelimit``), so several
``guichet serve`` processes behind a load balancer count against the same limit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp import web

CSRF_COOKIE = "guichet_formulaire"
CSRF_FIELD = "csrf"
HONEYPOT_FIELD = "site_web"
IDEMPOTENCY_FIELD = "envoi"


class CsrfGuard:
    def __init__(self, index_key: bytes, secure: bool, public_url: str | None = None) -> None:
        self._key = hmac.new(index_key, b"guichet forms csrf v1", hashlib.sha256).digest()
        self.secure = secure
        self.public_host = urlsplit(public_url).netloc.lower() if public_url else None

    def hosts(self, request: web.Request) -> set[str]:
        """The host names this site answers as: the request's Host and the configured public URL's."""
        return {h for h in (request.host.lower(), self.public_host) if h}

    def _sign(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    def token_for(self, request: web.Request, response_cookies: dict[str, str]) -> str:
        """The form token for this browser; puts a new cookie value in ``response_cookies`` when needed."""
        value = request.cookies.get(CSRF_COOKIE, "")
        if len(value) != 43:
            value = secrets.token_urlsafe(32)
            response_cookies[CSRF_COOKIE] = value
        return self._sign(value)

    def set_cookies(self, response: web.StreamResponse, cookies: dict[str, str]) -> None:
        for name, value in cookies.items():
            response.set_cookie(name, value, httponly=True, samesite="Lax", secure=self.secure, path="/",
                                max_age=12 * 3600)

    def check(self, request: web.Request, submitted: str) -> bool:
        origin = request.headers.get("Origin")
        if origin and origin != "null":
            # compare hosts only: behind a TLS-terminating proxy the scheme seen here is http
            if urlsplit(origin).netloc.lower() not in self.hosts(request):
                return False
        value = request.cookies.get(CSRF_COOKIE, "")
        if len(value) != 43 or not submitted:
            return False
        return hmac.compare_digest(self._sign(value), submitted)


def client_address(request: web.Request, trusted_proxies: Iterable[str] = ()) -> str:
    """The peer's address; behind a trusted reverse proxy, the last address it appended to X-Forwarded-For."""
    remote = request.remote or "unknown"
    if remote in set(trusted_proxies):
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]
        if forwarded:
            return forwarded[-1][:64]
    return remote
