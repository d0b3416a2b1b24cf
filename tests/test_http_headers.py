"""Every HTTP answer — pages, JSON, errors, redirects, the router's 404 and 405 — carries the
security headers and ``Cache-Control: no-store``; the CSP restricts form targets and the base URL."""

from __future__ import annotations

import aiohttp

from hub.core import Hub

EXPECTED = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
            "Cache-Control": "no-store"}


def _check(resp: aiohttp.ClientResponse, what: str) -> None:
    for name, value in EXPECTED.items():
        assert resp.headers.get(name) == value, (what, resp.status, name, resp.headers.get(name))
    csp = resp.headers.get("Content-Security-Policy", "")
    assert "form-action 'self'" in csp and "base-uri 'none'" in csp and "frame-ancestors 'none'" in csp, (what, csp)


async def test_every_answer_carries_the_headers(demo_hub: Hub, start_server) -> None:  # type: ignore[no-untyped-def]
    srv = await start_server(demo_hub)
    base = srv.url
    async with aiohttp.ClientSession() as http:
        cases = [("GET", "/inbox", None), ("GET", "/healthz", None), ("GET", "/nowhere", None),
                 ("DELETE", "/healthz", None), ("GET", "/api/threads/x", None), ("GET", "/fhir/Task/x", None),
                 ("POST", "/api/login", b"{not json"), ("GET", "/saisine-pdp", None), ("GET", "/inbox/login", None),
                 ("POST", "/oauth/token", b"grant_type=nope"),
                 ("POST", "/fhir/$process-message", b"x" * (31 * 1024 * 1024))]
        statuses = []
        for method, path, body in cases:
            async with http.request(method, base + path, data=body, allow_redirects=False) as resp:
                statuses.append(resp.status)
                _check(resp, f"{method} {path}")
    assert 302 in statuses or 303 in statuses  # a redirect was among them
    assert {200, 303, 400, 401, 404, 405}.issubset(set(statuses)), statuses
