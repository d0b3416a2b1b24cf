"""The inbox's JSON mirror for programs (thin handlers over ``hub.inbox``; its errors become ``{"error": "…"}`` in
French in one middleware, ``hub.web.inbox_errors``).

Routes: ``POST /api/login`` ``{"email","password","otp"}`` (sets the session cookie, returns ``csrf_token`` and
``stage``: ``full``, or ``enrol`` with the ``otpauth_uri`` to set up, then ``POST /api/mfa/confirm`` ``{"otp"}``
returns the ``recovery_codes``; a refusal for a missing code says ``"otp_required": true``),
``POST /api/logout``, ``GET /api/session``, ``GET /api/inbox?box=&limit=&cursor=``, ``GET /api/inbox/counts``,
``GET /api/search?q=``, ``GET /api/threads/{id}``,
``POST /api/threads/{id}/accept|reply|ask-info|reassign|reroute|close`` (``reply`` and ``ask-info`` to an
unverified sender need ``"confirm_unverified": true``, else 409).
Every POST but login carries the session's CSRF token in ``X-CSRF-Token`` (see ``hub.web.auth``).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from hub.inbox import actions, boxes, search, threads
from hub.inbox.reassign import Target
from hub.web.auth import (
    LoginRefused,
    NewSession,
    clear_session_cookie,
    client_source,
    confirm_enrolment,
    cookie_secure,
    login,
    logout,
    same_origin,
    set_session_cookie,
)
from hub.web.inbox_common import authenticate, check_csrf, json_error
from hub.web.keys import HUB


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = json.loads(await request.read() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text='{"error": "Corps JSON invalide."}', content_type="application/json") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text='{"error": "Le corps doit être un objet JSON."}',
                                 content_type="application/json")
    return data


def _str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    raise web.HTTPBadRequest(text=json.dumps({"error": f"Le champ « {name} » doit être une chaîne."}),
                             content_type="application/json")


async def api_login(request: web.Request) -> web.Response:
    if request.content_type != "application/json":
        return json_error("Envoyez un corps JSON (Content-Type: application/json).", 415)
    if not same_origin(request):
        return json_error("Origine refusée.", 403)
    data = await _body(request)
    try:
        new = await login(request.app[HUB], _str(data, "email") or "", _str(data, "password") or "",
                          client_source(request), _str(data, "otp"))
    except LoginRefused as refused:
        return web.json_response({"error": refused.message, "otp_required": refused.otp_required},
                                 status=refused.status, headers={"Cache-Control": "no-store"})
    return session_answer(request, new)


def session_answer(request: web.Request, new: NewSession, codes: tuple[str, ...] = ()) -> web.Response:
    body: dict[str, Any] = {"csrf_token": new.csrf_token, "expires_in": new.max_age, "stage": new.stage}
    if new.otpauth_uri:
        body["otpauth_uri"] = new.otpauth_uri
    if new.recovery_codes or codes:
        body["recovery_codes"] = list(new.recovery_codes or codes)
    response = web.json_response(body, headers={"Cache-Control": "no-store"})
    set_session_cookie(response, new, cookie_secure(request.app[HUB]))
    return response


async def api_mfa_confirm(request: web.Request) -> web.Response:
    info, _ = await authenticate(request, json_api=True, any_stage=True)
    check_csrf(request, info, None)
    if info.stage != "enrol":
        return json_error("Le second facteur de ce compte est déjà actif.", 409)
    try:
        new, codes = await confirm_enrolment(request.app[HUB], info, _str(await _body(request), "otp") or "",
                                             client_source(request))
    except LoginRefused as refused:
        return json_error(refused.message, refused.status)
    return session_answer(request, new, codes)


async def api_logout(request: web.Request) -> web.Response:
    info, _ = await authenticate(request, json_api=True, any_stage=True)
    check_csrf(request, info, None)
    await logout(request.app[HUB], info, client_source(request))
    response = web.json_response({"status": "déconnecté"})
    clear_session_cookie(response, cookie_secure(request.app[HUB]))
    return response


async def api_session(request: web.Request) -> web.Response:
    info, viewer = await authenticate(request, json_api=True)
    return web.json_response({"email": viewer.email, "role": viewer.role, "name": viewer.label,
                              "csrf_token": info.csrf_token, "triage": viewer.triage,
                              "stands_in_for": list(viewer.stands_in_for), "role_label": viewer.role_label,
                              "rights": sorted(viewer.rights)})


async def api_inbox(request: web.Request) -> web.Response:
    _, viewer = await authenticate(request, json_api=True)
    query = request.query
    try:
        limit = int(query.get("limit", "50"))
    except ValueError:
        return json_error("Paramètre « limit » invalide : un entier est attendu.", 400)
    page, _ = await boxes.browse(request.app[HUB], viewer, query.get("box", "todo"), limit,
                                 query.get("cursor") or None, client_source(request))
    return web.json_response({"box": page.box, "items": [i.to_json() for i in page.items],
                              "next_cursor": page.next_cursor})


async def api_counts(request: web.Request) -> web.Response:
    _, viewer = await authenticate(request, json_api=True)
    hub = request.app[HUB]
    async with hub.db.session() as session, session.begin():
        counts = await boxes.unread_counts(session, viewer, boxes.COUNTED_BOXES)
    return web.json_response({"unread": counts})


async def api_search(request: web.Request) -> web.Response:
    _, viewer = await authenticate(request, json_api=True)
    items = await search.search(request.app[HUB], viewer, request.query.get("q", ""), client_source(request))
    return web.json_response({"items": [i.to_json() for i in items]})


async def api_thread(request: web.Request) -> web.Response:
    _, viewer = await authenticate(request, json_api=True)
    view = await threads.open_thread(request.app[HUB], viewer, request.match_info["id"], client_source(request))
    return web.json_response(view.to_json(), headers={"Cache-Control": "no-store"})


async def api_action(request: web.Request) -> web.Response:
    info, viewer = await authenticate(request, json_api=True)
    check_csrf(request, info, None)
    hub, thread_id, action = request.app[HUB], request.match_info["id"], request.match_info["action"]
    data, source = await _body(request), client_source(request)
    if action == "accept":
        result = await actions.accept(hub, viewer, thread_id, source)
    elif action == "reply":
        result = await actions.reply(hub, viewer, thread_id, _str(data, "text"), source,
                                     data.get("confirm_unverified") is True)
    elif action == "ask-info":
        result = await actions.ask_info(hub, viewer, thread_id, _str(data, "text"), source,
                                        data.get("confirm_unverified") is True)
    elif action == "reroute":
        result = await actions.reroute(hub, viewer, thread_id, source)
    elif action == "reassign":
        target = Target.parse(_str(data, "practitioner_rpps"), _str(data, "team"))
        result = await actions.reassign(hub, viewer, thread_id, target, _str(data, "note"), source)
    else:
        result = await actions.close(hub, viewer, thread_id, _str(data, "outcome"),
                                     _str(data, "business_status"), _str(data, "note"), source)
    return web.json_response(result.to_json())


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/login", api_login)
    app.router.add_post("/api/logout", api_logout)
    app.router.add_post("/api/mfa/confirm", api_mfa_confirm)
    app.router.add_get("/api/session", api_session)
    app.router.add_get("/api/inbox", api_inbox)
    app.router.add_get("/api/inbox/counts", api_counts)
    app.router.add_get("/api/search", api_search)
    app.router.add_get("/api/threads/{id}", api_thread)
    app.router.add_post("/api/threads/{id}/{action:accept|reply|ask-info|reassign|reroute|close}", api_action)
