"""The inbox's HTML pages (French, server-rendered, usable without JavaScript; thin handlers over ``hub.inbox``).

Routes: ``GET|POST /inbox/login``, ``POST /inbox/logout``, ``GET /inbox?box=&cursor=``, ``GET /inbox/search?q=``,
``GET /inbox/threads/{id}``, ``POST /inbox/threads/{id}/accept|reply|ask-info|reassign|reroute|close``
(each answers 303 back to the thread, or the thread page with the refusal), ``GET /inbox/attachments/{id}``, ``GET
/static/inbox.css``. A thread the user may not see is a 404 page.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import select

from hub.attachment_safety import download_type
from hub.inbox import actions, boxes, search, threads
from hub.inbox.access import Viewer
from hub.inbox.errors import InboxError
from hub.inbox.reassign import ASSIGNABLE_ROLES, Target
from hub.inbox.task_status import OUTCOMES
from hub.store.models import Practitioner, Team
from hub.web.auth import (
    LOGIN_COOKIE,
    LoginRefused,
    SessionInfo,
    clear_session_cookie,
    client_source,
    cookie_secure,
    current,
    login,
    logout,
    set_session_cookie,
    tokens_match,
)
from hub.web.inbox_common import STATIC, authenticate, check_csrf, render
from hub.web.inbox_errors import RECOVER
from hub.web.keys import HUB
from hub.web.mfa_pages import recovery_page

DONE = {"accept": "Demande acceptée.", "reply": "Réponse envoyée à l'expéditeur.",
        "ask-info": "Demande de précisions envoyée à l'expéditeur.", "reassign": "Demande réaffectée.",
        "reroute": "Demande réorientée selon l'annuaire.",
        "close": "Demande close."}


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def _safe_next(value: str | None) -> str:
    if value and value.startswith(("/inbox", "/indicateurs")) and not value.startswith("//") and "\\" not in value:
        return value
    return "/inbox"


def _login_page(request: web.Request, error: str | None = None, status: int = 200, email: str = "",
                otp_required: bool = False) -> web.Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "inbox/login.html", {"csrf_token": token, "error": error, "email": email,
                                                     "next": _safe_next(request.query.get("next")), "user": None,
                                                     "notice": None, "counts": {}, "query": "",
                                                     "otp_required": otp_required}, status)
    response.set_cookie(LOGIN_COOKIE, token, path="/inbox/login", httponly=True, samesite="Strict",
                        secure=cookie_secure(request.app[HUB]), max_age=3600)
    return response


async def login_form(request: web.Request) -> web.Response:
    if await current(request.app[HUB], request) is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")))
    return _login_page(request)


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email = str(form.get("email", ""))
    if not tokens_match(request.cookies.get(LOGIN_COOKIE, ""), str(form.get("csrf_token", ""))):
        return _login_page(request, "Le formulaire a expiré : recommencez.", 403, email)
    try:
        new = await login(request.app[HUB], email, str(form.get("password", "")), client_source(request),
                          str(form.get("otp", "")).strip() or None)
    except LoginRefused as refused:
        return _login_page(request, refused.message, refused.status, email, refused.otp_required)
    if new.stage == "enrol":
        response = _see_other("/inbox/mfa")
    elif new.recovery_codes:
        response = recovery_page(request, new)
    else:
        response = _see_other(_safe_next(str(form.get("next", ""))))
    set_session_cookie(response, new, cookie_secure(request.app[HUB]))
    response.del_cookie(LOGIN_COOKIE, path="/inbox/login")
    return response


async def logout_submit(request: web.Request) -> web.StreamResponse:
    info, _ = await authenticate(request, json_api=False, any_stage=True)
    check_csrf(request, info, await request.post())
    await logout(request.app[HUB], info, client_source(request))
    response = _see_other("/inbox/login")
    clear_session_cookie(response, cookie_secure(request.app[HUB]))
    return response


def _base(info: SessionInfo, viewer: Viewer, counts: dict[str, int], **more: Any) -> dict[str, Any]:
    return {"user": viewer, "csrf_token": info.csrf_token, "counts": counts, "notice": None, "error": None,
            "query": "", **more}


async def _counts(request: web.Request, viewer: Viewer) -> dict[str, int]:
    hub = request.app[HUB]
    async with hub.db.session() as session, session.begin():
        return await boxes.unread_counts(session, viewer, boxes.COUNTED_BOXES)


async def inbox_page(request: web.Request) -> web.Response:
    info, viewer = await authenticate(request, json_api=False)
    box = request.query.get("box", "triage" if viewer.triage and not viewer.practitioners else "todo")
    page, counts = await boxes.browse(request.app[HUB], viewer, box, 50, request.query.get("cursor") or None,
                                      client_source(request), counts=True)
    return render(request, "inbox/list.html", _base(info, viewer, counts, box=box, items=page.items,
                                                    next_cursor=page.next_cursor, title=None,
                                                    notice=DONE.get(request.query.get("fait", ""))))


async def search_page(request: web.Request) -> web.Response:
    info, viewer = await authenticate(request, json_api=False)
    query = request.query.get("q", "")
    counts = await _counts(request, viewer)

    async def in_place(exc: InboxError) -> web.StreamResponse:  # the refusal shown above an empty list
        return render(request, "inbox/list.html", _base(info, viewer, counts, box=None, items=[], next_cursor=None,
                                                        error=exc.message, query=query, title="Recherche"),
                      exc.status)

    request[RECOVER] = in_place
    items = await search.search(request.app[HUB], viewer, query, client_source(request))
    return render(request, "inbox/list.html", _base(info, viewer, counts, box=None, items=items, next_cursor=None,
                                                    query=query, title="Recherche"))


async def _targets(request: web.Request) -> dict[str, list[tuple[str, str]]]:
    hub = request.app[HUB]
    async with hub.db.session() as session:
        people = (await session.execute(
            select(Practitioner).where(Practitioner.role.in_(ASSIGNABLE_ROLES), Practitioner.team_id.is_not(None))
            .order_by(Practitioner.family_name, Practitioner.given_name))).scalars().all()
        teams = (await session.execute(select(Team).where(Team.kind.in_(("standard", "interim")))
                                       .order_by(Team.name))).scalars().all()
    return {"people": [(f"rpps:{p.rpps}", p.display_name) for p in people],
            "teams": [("team:pdp", "Cellule PDP"), ("team:triage", "File de tri")]
            + [(f"team:{t.code}", t.name) for t in teams]}


async def _thread_page(request: web.Request, info: SessionInfo, viewer: Viewer, notice: str | None = None,
                       error: str | None = None, status: int = 200) -> web.Response:
    hub = request.app[HUB]
    view = await threads.open_thread(hub, viewer, request.match_info["id"], client_source(request))
    counts = await _counts(request, viewer)
    targets = await _targets(request) if "reassign" in view.actions else {"people": [], "teams": []}
    return render(request, "inbox/thread.html", _base(info, viewer, counts, t=view, notice=notice, error=error,
                                                      targets=targets, outcomes=OUTCOMES), status)


async def thread_page(request: web.Request) -> web.Response:
    info, viewer = await authenticate(request, json_api=False)
    return await _thread_page(request, info, viewer, notice=DONE.get(request.query.get("fait", "")))


async def thread_action(request: web.Request) -> web.StreamResponse:
    info, viewer = await authenticate(request, json_api=False)
    form = await request.post()
    check_csrf(request, info, form)
    hub, thread_id, action = request.app[HUB], request.match_info["id"], request.match_info["action"]
    source = client_source(request)

    def field(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    async def in_place(exc: InboxError) -> web.StreamResponse:  # the thread again, with the refusal
        return await _thread_page(request, info, viewer, error=exc.message, status=exc.status)

    request[RECOVER] = in_place
    if action == "accept":
        await actions.accept(hub, viewer, thread_id, source)
    elif action == "reply":
        await actions.reply(hub, viewer, thread_id, field("text"), source, field("confirm_unverified") == "1")
    elif action == "ask-info":
        await actions.ask_info(hub, viewer, thread_id, field("text"), source, field("confirm_unverified") == "1")
    elif action == "reroute":
        await actions.reroute(hub, viewer, thread_id, source)
        return _see_other("/inbox?fait=reroute")
    elif action == "reassign":
        kind, _, value = field("target").partition(":")
        target = Target.parse(value if kind == "rpps" else None, value if kind == "team" else None)
        await actions.reassign(hub, viewer, thread_id, target, field("note"), source)
        return _see_other("/inbox?fait=reassign")
    else:
        outcome, _, detail = field("outcome").partition(":")
        await actions.close(hub, viewer, thread_id, outcome, detail or None, field("note"), source)
    return _see_other(f"/inbox/threads/{quote(thread_id)}?fait={action}")


async def attachment(request: web.Request) -> web.StreamResponse:
    info, viewer = await authenticate(request, json_api=False)
    name, content_type, content = await threads.download(request.app[HUB], viewer, request.match_info["id"],
                                                         client_source(request))
    safe = "".join(c for c in name if c.isprintable() and c not in '"\\/') or "piece-jointe"
    return web.Response(body=content, headers={
        "Content-Type": download_type(content_type),  # HTML, SVG, XHTML…: a neutral type, never rendered
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(safe)}",
        "Content-Security-Policy": "sandbox; default-src 'none'; form-action 'none'; base-uri 'none'",
        "Cache-Control": "no-store"})


async def stylesheet(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "inbox.css", headers={"Cache-Control": "max-age=3600"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/inbox/login", login_form)
    app.router.add_post("/inbox/login", login_submit)
    app.router.add_post("/inbox/logout", logout_submit)
    app.router.add_get("/inbox", inbox_page)
    app.router.add_get("/inbox/search", search_page)
    app.router.add_get("/inbox/threads/{id}", thread_page)
    app.router.add_post("/inbox/threads/{id}/{action:accept|reply|ask-info|reassign|reroute|close}",
                        thread_action)
    app.router.add_get("/inbox/attachments/{id}", attachment)
    app.router.add_get("/static/inbox.css", stylesheet)
