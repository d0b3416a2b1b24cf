"""HTTP side of SMART Backend Services: ``POST /oauth/token`` and the discovery documents.

The handler converts the form to a call of :meth:`SmartAuth.token_request` and its answer or
:class:`OAuthError` back to JSON (``Cache-Control: no-store``); it decides nothing itself.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from aiohttp import web

from connectors.fhir_api.http_common import SMART, TRANSIENT
from hub.smart import OAuthError

MAX_FORM_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_error(exc: OAuthError) -> web.Response:
    headers = dict(NO_STORE)
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return web.json_response(exc.body(), status=exc.status, headers=headers)


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "send the parameters as application/x-www-form-urlencoded")
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise OAuthError("invalid_request", "request too large")
    body = await request.content.read(MAX_FORM_BYTES + 1)
    if len(body) > MAX_FORM_BYTES:
        raise OAuthError("invalid_request", "request too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError("invalid_request", "the form is not valid UTF-8 url-encoded data") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthError("invalid_request", f"parameter {name} is repeated")
        if "\x00" in value:
            raise OAuthError("invalid_request", f"parameter {name} holds a NUL character")
        form[name] = value
    return form


async def token(request: web.Request) -> web.Response:
    try:
        form = await _form(request)
        answer = await request.app[SMART].token_request(form)
    except OAuthError as exc:
        return oauth_error(exc)
    except TRANSIENT:
        return web.json_response({"error": "temporarily_unavailable", "error_description": "storage unavailable; "
                                  "retry later"}, status=503, headers={**NO_STORE, "Retry-After": "5"})
    return web.json_response(answer.body(), headers=NO_STORE)


async def smart_configuration(request: web.Request) -> web.Response:
    return web.json_response(request.app[SMART].smart_configuration())


async def jwks(request: web.Request) -> web.Response:
    return web.json_response(request.app[SMART].jwks())


def add_routes(app: web.Application) -> None:
    app.router.add_post("/oauth/token", token)
    app.router.add_get("/.well-known/smart-configuration", smart_configuration)
    app.router.add_get("/fhir/.well-known/smart-configuration", smart_configuration)
    app.router.add_get("/.well-known/jwks.json", jwks)
