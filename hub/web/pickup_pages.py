"""The secure pickup pages (French, public, no JavaScript): thin handlers over ``hub.pickup.service``.

Routes: ``GET /retrait/{token}`` (the answer when this browser holds a live pickup session, else the page asking
for a one-time code), ``POST /retrait/{token}/code`` (email a code), ``POST /retrait/{token}`` (give the code:
sets the ``retrait`` cookie, path-bound to the link, ``HttpOnly``, ``SameSite=Strict``, 30 minutes),
``POST /retrait/{token}/reponse`` (answer in the same thread; CSRF token derived from the session),
``GET /retrait/{token}/pj/{id}`` (an attachment). A refusal is the same page with the French reason and its
status (400, 401, 404, 410, 429). Every answer is ``Cache-Control: no-store``; POSTs from another origin: 403.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import quote

from aiohttp import web

from hub.pickup import service
from hub.pickup.service import SESSION_MINUTES, PickupError
from hub.references import token_digest
from hub.web.auth import client_source, cookie_secure, same_origin
from hub.web.inbox_common import render
from hub.web.keys import HUB

COOKIE = "retrait"
NOTICES = {"code": "Un code vient de vous être envoyé par courriel.",
           "reponse": "Votre réponse a bien été transmise au service de santé au travail, dans le même dossier."}


def _csrf(secret: str) -> str:
    return token_digest(f"csrf:{secret}")[:32]


def _page(request: web.Request, status: int = 200, **context: Any) -> web.Response:
    base: dict[str, Any] = {"token": request.match_info["token"], "reference": None, "content": None,
                            "state": None, "notice": NOTICES.get(request.query.get("fait", "")), "error": None,
                            "csrf_token": "", "nonce": ""}
    return render(request, "pickup/page.html", {**base, **context}, status)


def _back(request: web.Request, done: str | None = None) -> web.Response:
    location = f"/retrait/{quote(request.match_info['token'])}" + (f"?fait={done}" if done else "")
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def _refused(request: web.Request, exc: PickupError) -> web.Response:
    return _page(request, exc.status, error=exc.message)


def _check_origin(request: web.Request) -> None:
    if not same_origin(request):
        raise web.HTTPForbidden(text="Origine refusée.", content_type="text/plain")


async def show(request: web.Request) -> web.Response:
    hub, token, source = request.app[HUB], request.match_info["token"], client_source(request)
    secret = request.cookies.get(COOKIE)
    try:
        if secret:
            try:
                content = await service.read(hub, token, secret, source)
            except PickupError as exc:
                if exc.status != 401:
                    raise
            else:
                return _page(request, reference=content.reference, content=content, csrf_token=_csrf(secret),
                             nonce=secrets.token_hex(12))
        state = await service.open_link(hub, token, source)
    except PickupError as exc:
        return _refused(request, exc)
    return _page(request, reference=state.reference, state=state)


async def ask_code(request: web.Request) -> web.Response:
    _check_origin(request)
    try:
        await service.send_code(request.app[HUB], request.match_info["token"], client_source(request))
    except PickupError as exc:
        return _refused(request, exc)
    return _back(request, "code")


async def give_code(request: web.Request) -> web.Response:
    _check_origin(request)
    hub, token, source = request.app[HUB], request.match_info["token"], client_source(request)
    form = await request.post()
    code = form.get("code")
    try:
        secret = await service.check_code(hub, token, code if isinstance(code, str) else "", source)
    except PickupError as exc:
        if exc.status == 400:  # a wrong code: the same page again, with the attempts left
            try:
                state = await service.open_link(hub, token, source)
            except PickupError as gone:
                return _refused(request, gone)
            return _page(request, 400, reference=state.reference, state=state, error=exc.message)
        return _refused(request, exc)
    response = _back(request)
    response.set_cookie(COOKIE, secret, max_age=SESSION_MINUTES * 60, path=f"/retrait/{token}", httponly=True,
                        samesite="Strict", secure=cookie_secure(hub))
    return response


async def reply(request: web.Request) -> web.Response:
    _check_origin(request)
    hub, token, source = request.app[HUB], request.match_info["token"], client_source(request)
    secret = request.cookies.get(COOKIE) or ""
    form = await request.post()
    given, text, nonce = (form.get(k) for k in ("csrf_token", "text", "nonce"))
    if not secret or not isinstance(given, str) or not hmac.compare_digest(given, _csrf(secret)):
        return _page(request, 403, error="Le formulaire a expiré : rechargez la page et recommencez.")
    try:
        await service.answer(hub, token, secret, text if isinstance(text, str) else "",
                             nonce if isinstance(nonce, str) else "", source)
    except PickupError as exc:
        return _refused(request, exc)
    return _back(request, "reponse")


async def attachment(request: web.Request) -> web.StreamResponse:
    hub, token = request.app[HUB], request.match_info["token"]
    try:
        name, content_type, content = await service.download(hub, token, request.cookies.get(COOKIE),
                                                             request.match_info["id"], client_source(request))
    except PickupError as exc:
        return _refused(request, exc)
    safe = "".join(c for c in name if c.isprintable() and c not in '"\\/') or "piece-jointe"
    return web.Response(body=content, headers={
        "Content-Type": "application/octet-stream" if content_type.startswith("text/html") else content_type,
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(safe)}", "Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/retrait/{token}", show)
    app.router.add_post("/retrait/{token}", give_code)
    app.router.add_post("/retrait/{token}/code", ask_code)
    app.router.add_post("/retrait/{token}/reponse", reply)
    app.router.add_get("/retrait/{token}/pj/{id}", attachment)
