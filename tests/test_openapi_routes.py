"""``schemas/openapi.json`` and the app's router stay in step: every route the service answers is described in the
OpenAPI document, but the French HTML pages listed here (for people, not programs); nothing is described that
the service does not answer. A new route fails this test until it is added to one or the other."""

from __future__ import annotations

import json

from hub.core import Hub
from hub.plugins import load_connectors
from hub.web.app import build_app

HTML_PAGES = {
    ("GET", "/inbox"), ("GET", "/inbox/login"), ("POST", "/inbox/login"), ("POST", "/inbox/logout"),
    ("GET", "/inbox/mfa"), ("POST", "/inbox/mfa"), ("GET", "/inbox/search"), ("GET", "/inbox/threads/{id}"),
    ("POST", "/inbox/threads/{id}/{action}"), ("GET", "/inbox/attachments/{id}"),
    ("GET", "/inbox/threads/{id}/consentements"), ("POST", "/inbox/threads/{id}/consentements"),
    ("GET", "/inbox/threads/{id}/recommandations"), ("POST", "/inbox/threads/{id}/recommandations"),
    ("GET", "/saisine-pdp"), ("POST", "/saisine-pdp"), ("GET", "/saisine-pdp/employeurs"),
    ("GET", "/demande-pre-reprise"), ("POST", "/demande-pre-reprise"), ("GET", "/demande-pre-reprise/employeurs"),
    ("GET", "/suivi/{reference}"), ("POST", "/suivi/{reference}"),
    ("GET", "/indicateurs"),
    ("GET", "/static/forms"), ("GET", "/static/inbox.css"), ("GET", "/static/indicators.css"),
}


def _path(canonical: str) -> str:
    """aiohttp's ``{action:accept|reply}`` is OpenAPI's ``{action}``."""
    out, depth, skipping = [], 0, False
    for ch in canonical:
        if ch == "{":
            depth, skipping = depth + 1, False
        elif ch == "}":
            depth, skipping = depth - 1, False
        elif ch == ":" and depth:
            skipping = True
            continue
        if not skipping:
            out.append(ch)
    return "".join(out)


async def test_every_route_is_described_or_a_listed_page(hub: Hub) -> None:
    app = build_app(hub, load_connectors())
    served = {(route.method, _path(route.resource.canonical)) for route in app.router.routes()
              if route.method != "HEAD" and route.resource is not None}
    doc = json.loads((hub.settings.schemas_dir / "openapi.json").read_text(encoding="utf-8"))
    described = {(method.upper(), path) for path, item in doc["paths"].items() for method in item
                 if method in ("get", "post", "put", "patch", "delete")}
    assert served - described - HTML_PAGES == set(), "routes missing from schemas/openapi.json"
    assert described - served == set(), "described in schemas/openapi.json, not served"
    assert HTML_PAGES - served == set(), "listed as pages, not served"
    assert HTML_PAGES & described == set(), "a page is described too"
