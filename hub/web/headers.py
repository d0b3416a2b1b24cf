"""Security headers on every HTTP answer: pages, JSON, errors, redirects, 404s of the router.

Contract: ``install(app)`` hooks ``on_response_prepare`` (which every answer passes through, unlike a middleware
that an ``HTTPException`` — a redirect, a 404, a 413 — skips) to add, unless the handler set its own:
``X-Content-Type-Options``, ``Referrer-Policy``, ``X-Frame-Options``, a CSP with ``form-action 'self'`` and
``base-uri 'none'``, ``Cache-Control: no-store`` (any answer may carry health data; only static assets set a
cache lifetime themselves), and HSTS when served over TLS.
"""

from __future__ import annotations

from aiohttp import web

from hub.web.keys import HUB

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; "
       "form-action 'self'; base-uri 'none'; object-src 'none'")


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("Cache-Control", "no-store")
    if request.app[HUB].settings.tls_enabled:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def install(app: web.Application) -> None:
    app.on_response_prepare.append(_headers)
