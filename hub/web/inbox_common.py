"""What the inbox handlers share: who is asking (session + viewer), CSRF checks, template rendering.

Contract: ``await authenticate(request, json_api)`` returns ``(SessionInfo, Viewer)`` or raises the answer for an
anonymous caller (HTML: 303 to the login page; JSON: 401 ``{"error": …}``) or for a session that must first set up
its second factor (HTML: 303 to ``/inbox/mfa``; JSON: 403), unless ``any_stage``. ``check_csrf(request, info, form)``
raises 403 unless the POST carries the session's CSRF token (form field or ``X-CSRF-Token`` header) and does not
come from another origin. ``render(request, name, context)`` renders a template of ``hub/web/templates`` with
autoescape, under the inbox's own ``aiohttp_jinja2`` key (other parts of the app may have theirs).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web
from multidict import MultiDictProxy

from hub import clock
from hub.inbox.access import Viewer, load_viewer
from hub.inbox.task_status import BOX_LABELS, STATUS_LABELS, status_label
from hub.intake.service import requester_label
from hub.rights import close_right
from hub.web.auth import SessionInfo, current, same_origin, tokens_match
from hub.web.keys import HUB

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
JINJA_KEY: web.AppKey[jinja2.Environment] = web.AppKey("inbox_jinja", jinja2.Environment)
WHO: web.RequestKey[tuple[SessionInfo, Viewer]] = web.RequestKey("inbox_who")  # the caller (for the error middleware)
EVENT_LABELS = {"pre-return-visit-request": "Demande de visite de pré-reprise", "pdp-referral": "Saisine PDP",
                "coordination-request": "Demande de coordination", "reply": "Réponse"}
CAUSE_LABELS = {"illness": "maladie", "work-accident": "accident du travail",
                "occupational-disease": "maladie professionnelle", "maternity": "maternité"}


def setup_templates(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(str(TEMPLATES)), app_key=JINJA_KEY,
                               autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                               undefined=jinja2.StrictUndefined)
    env.globals.update(status_label=status_label, box_labels=BOX_LABELS, status_labels=STATUS_LABELS,
                       requester_label=requester_label, event_label=lambda e: EVENT_LABELS.get(e, e),
                       cause_label=lambda c: CAUSE_LABELS.get(c, c), close_right=close_right)
    env.filters["frdate"] = _frdate


def _frdate(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if hasattr(value, "hour"):
        return clock.in_paris(value).strftime("%d/%m/%Y %H:%M")  # stored in UTC, read in France
    return str(value.strftime("%d/%m/%Y"))


def render(request: web.Request, name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    response = aiohttp_jinja2.render_template(name, request, context, app_key=JINJA_KEY, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def json_error(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status, headers={"Cache-Control": "no-store"})


ENROL_FIRST = "Activez d'abord le second facteur : POST /api/mfa/confirm avec le code de votre application."


async def authenticate(request: web.Request, json_api: bool, any_stage: bool = False
                       ) -> tuple[SessionInfo, Viewer]:
    hub = request.app[HUB]
    info = await current(hub, request)
    if info is None:
        if json_api:
            raise web.HTTPUnauthorized(text='{"error": "Connexion requise."}', content_type="application/json")
        target = request.path_qs if request.method == "GET" else "/inbox"
        raise web.HTTPSeeOther(f"/inbox/login?next={quote(target, safe='')}")
    if info.stage != "full" and not any_stage:
        if json_api:
            raise web.HTTPForbidden(text=json.dumps({"error": ENROL_FIRST, "mfa": "enrol"}),
                                    content_type="application/json")
        raise web.HTTPSeeOther("/inbox/mfa")
    async with hub.db.session() as session:
        viewer = await load_viewer(session, info.user, clock.today(), hub.rights)
    request[WHO] = (info, viewer)
    return info, viewer


def check_csrf(request: web.Request, info: SessionInfo, form: MultiDictProxy[Any] | None) -> None:
    given = request.headers.get("X-CSRF-Token")
    if given is None and form is not None:
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not same_origin(request) or not tokens_match(info.csrf_token, given):
        if form is None:
            raise web.HTTPForbidden(text='{"error": "Jeton anti-falsification (X-CSRF-Token) manquant ou '
                                         'invalide."}', content_type="application/json")
        raise web.HTTPForbidden(text="Jeton anti-falsification manquant ou invalide : rechargez la page et "
                                     "recommencez.", content_type="text/plain")
