"""Setting up the second factor in the browser: ``GET /inbox/mfa`` shows the QR code (drawn here, inline SVG) and
the key to type by hand; ``POST /inbox/mfa`` takes the first code, replaces the enrolment session with a full one
and shows the recovery codes once (``hub.mfa``, ``hub.web.auth.confirm_enrolment``). Only a session of stage
``enrol`` gets here; any other is sent on (to the login page or the inbox).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub import mfa
from hub.store.models import User
from hub.web.auth import (
    LoginRefused,
    NewSession,
    SessionInfo,
    client_source,
    confirm_enrolment,
    cookie_secure,
    current,
    set_session_cookie,
)
from hub.web.inbox_common import check_csrf, render
from hub.web.keys import HUB

_EMPTY: dict[str, Any] = {"user": None, "notice": None, "counts": {}, "query": ""}


async def _enrolment(request: web.Request) -> SessionInfo:
    info = await current(request.app[HUB], request)
    if info is None:
        raise web.HTTPSeeOther("/inbox/login")
    if info.stage != "enrol":
        raise web.HTTPSeeOther("/inbox")
    return info


async def _page(request: web.Request, info: SessionInfo, error: str | None = None, status: int = 200
                ) -> web.Response:
    hub = request.app[HUB]
    async with hub.db.session() as session, session.begin():
        user = await session.get(User, info.user.id)
        assert user is not None
        uri = await mfa.pending_uri(hub, session, user)
    secret = mfa.secret_of(uri)
    return render(request, "inbox/mfa.html", {**_EMPTY, "csrf_token": info.csrf_token, "error": error,
                                               "qr": mfa.qr_svg(uri), "email": info.user.email,
                                               "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))},
                  status)


async def enrol_form(request: web.Request) -> web.Response:
    return await _page(request, await _enrolment(request))


async def enrol_submit(request: web.Request) -> web.Response:
    info = await _enrolment(request)
    form = await request.post()
    check_csrf(request, info, form)
    code = form.get("otp")
    try:
        new, codes = await confirm_enrolment(request.app[HUB], info, code if isinstance(code, str) else "",
                                         client_source(request))
    except LoginRefused as refused:
        return await _page(request, info, refused.message, refused.status)
    return recovery_page(request, new, codes)


def recovery_page(request: web.Request, new: NewSession, codes: tuple[str, ...] = ()) -> web.Response:
    """The recovery codes, once, with the new full session's cookie."""
    response = render(request, "inbox/recovery.html", {**_EMPTY, "csrf_token": new.csrf_token, "error": None,
                                                       "codes": codes or new.recovery_codes})
    set_session_cookie(response, new, cookie_secure(request.app[HUB]))
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/inbox/mfa", enrol_form)
    app.router.add_post("/inbox/mfa", enrol_submit)
