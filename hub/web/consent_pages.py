"""The consent registry and the pré-reprise recommendations in the inbox (thin handlers over ``hub.consent``).

Routes (HTML): ``GET|POST /inbox/threads/{id}/consentements`` (read the registry of the request's worker; record
or withdraw a decision), ``GET /inbox/threads/{id}/recommandations`` (write them), ``POST …/recommandations``
with ``etape=relire`` (the letters as they will leave, or why they cannot) or ``etape=envoyer`` (send).
JSON: ``GET|POST /api/threads/{id}/consents`` (``{"purpose","decision","channel","date","note"}``),
``POST /api/threads/{id}/recommendations`` (``{"text","checklist","recipients","addresses","worker_informed",
"send"}``: without ``"send": true`` it only reviews). Errors as the inbox's, turned into HTTP by
``hub.web.inbox_errors`` (French; ``ConsentRefused`` is 403).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web
from multidict import MultiDictProxy

from hub.consent import recommendations as reco
from hub.consent.service import CHOICES, consents_of, parse_date, record_for
from hub.inbox.access import Viewer
from hub.inbox.errors import InboxError
from hub.web.auth import SessionInfo, client_source
from hub.web.inbox_api import _body
from hub.web.inbox_common import authenticate, check_csrf, render
from hub.web.inbox_errors import RECOVER
from hub.web.keys import HUB

DONE = {"consentement": "Décision enregistrée dans le registre des consentements.",
        "recommandations": "Recommandations enregistrées : le salarié est informé, elles partent au terme du délai "
                           "prévu si le salarié ne s'y oppose pas."}


def _ctx(info: SessionInfo, viewer: Viewer, **more: Any) -> dict[str, Any]:
    return {"user": viewer, "csrf_token": info.csrf_token, "counts": {}, "notice": None, "error": None,
            "query": "", **more}


def _field(form: MultiDictProxy[Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _consent_page(request: web.Request, info: SessionInfo, viewer: Viewer, error: str | None = None,
                        status: int = 200, notice: str | None = None) -> web.Response:
    view = await consents_of(request.app[HUB], viewer, request.match_info["id"], client_source(request))
    return render(request, "inbox/consent.html", _ctx(info, viewer, v=view, choices=CHOICES, error=error,
                                                      notice=notice), status)


async def consent_page(request: web.Request) -> web.Response:
    info, viewer = await authenticate(request, json_api=False)
    return await _consent_page(request, info, viewer, notice=DONE.get(request.query.get("fait", "")))


async def consent_submit(request: web.Request) -> web.StreamResponse:
    info, viewer = await authenticate(request, json_api=False)
    form = await request.post()
    check_csrf(request, info, form)
    thread_id = request.match_info["id"]

    async def in_place(exc: InboxError) -> web.StreamResponse:
        return await _consent_page(request, info, viewer, exc.message, exc.status)

    request[RECOVER] = in_place  # refusals shown next to the form (hub.web.inbox_errors)
    await record_for(request.app[HUB], viewer, thread_id, _field(form, "purpose"), _field(form, "decision"),
                     _field(form, "channel"), parse_date(_field(form, "date")), _field(form, "note")[:2000],
                     client_source(request))
    raise web.HTTPSeeOther(f"/inbox/threads/{quote(thread_id)}/consentements?fait=consentement")


def _draft(form: MultiDictProxy[Any]) -> reco.RecommendationDraft:
    return reco.RecommendationDraft(
        text=_field(form, "text"), checklist=[c for c in form.getall("checklist", []) if isinstance(c, str)],
        recipients=[r for r in form.getall("recipients", []) if isinstance(r, str)],
        addresses={"employer": _field(form, "employer_email"),
                   "medecin-conseil": _field(form, "medecin_conseil_email")},
        worker_informed=_field(form, "worker_informed") == "oui")


async def _reco_page(request: web.Request, info: SessionInfo, viewer: Viewer, draft: reco.RecommendationDraft,
                     review: reco.Review | None = None, error: str | None = None, status: int = 200
                     ) -> web.Response:
    view = await consents_of(request.app[HUB], viewer, request.match_info["id"], client_source(request))
    return render(request, "inbox/recommendations.html", _ctx(
        info, viewer, v=view, d=draft, review=review, error=error, checklist=reco.CHECKLIST,
        recipients=reco.RECIPIENTS), status)


async def reco_page(request: web.Request) -> web.Response:
    info, viewer = await authenticate(request, json_api=False)
    return await _reco_page(request, info, viewer, reco.RecommendationDraft(recipients=["employer"]))


async def reco_submit(request: web.Request) -> web.StreamResponse:
    info, viewer = await authenticate(request, json_api=False)
    form = await request.post()
    check_csrf(request, info, form)
    hub, thread_id, source = request.app[HUB], request.match_info["id"], client_source(request)
    draft = _draft(form)

    async def in_place(exc: InboxError) -> web.StreamResponse:
        return await _reco_page(request, info, viewer, draft, error=exc.message, status=exc.status)

    request[RECOVER] = in_place  # refusals shown next to the form (hub.web.inbox_errors)
    if _field(form, "etape") == "envoyer":
        await reco.send(hub, viewer, thread_id, draft, source)
        raise web.HTTPSeeOther(f"/inbox/threads/{quote(thread_id)}/consentements?fait=recommandations")
    review = await reco.review(hub, viewer, thread_id, draft, source)
    return await _reco_page(request, info, viewer, draft, review=review,
                            status=200 if review.sendable else 409)


# -- JSON --------------------------------------------------------------------------------------------
async def api_consents(request: web.Request) -> web.Response:
    _, viewer = await authenticate(request, json_api=True)
    view = await consents_of(request.app[HUB], viewer, request.match_info["id"], client_source(request))
    return web.json_response(view.to_json(), headers={"Cache-Control": "no-store"})


def _s(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


async def api_record(request: web.Request) -> web.Response:
    info, viewer = await authenticate(request, json_api=True)
    check_csrf(request, info, None)
    data = await _body(request)
    entry = await record_for(request.app[HUB], viewer, request.match_info["id"], _s(data, "purpose"),
                             _s(data, "decision"), _s(data, "channel"), parse_date(_s(data, "date")),
                             _s(data, "note")[:2000], client_source(request))
    return web.json_response(entry.to_json(), status=201)


async def api_recommendations(request: web.Request) -> web.Response:
    info, viewer = await authenticate(request, json_api=True)
    check_csrf(request, info, None)
    data = await _body(request)
    addresses = data.get("addresses") if isinstance(data.get("addresses"), dict) else {}
    draft = reco.RecommendationDraft(
        text=_s(data, "text"), checklist=[c for c in data.get("checklist") or [] if isinstance(c, str)],
        recipients=[r for r in data.get("recipients") or [] if isinstance(r, str)],
        addresses={k: v for k, v in (addresses or {}).items() if isinstance(k, str) and isinstance(v, str)},
        worker_informed=data.get("worker_informed") is True)
    hub, thread_id, source = request.app[HUB], request.match_info["id"], client_source(request)
    if data.get("send") is True:
        ids = await reco.send(hub, viewer, thread_id, draft, source)
        return web.json_response({"sent": ids}, status=202)
    review = await reco.review(hub, viewer, thread_id, draft, source)
    return web.json_response(review.to_json(), status=200 if review.sendable else 409)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/inbox/threads/{id}/consentements", consent_page)
    app.router.add_post("/inbox/threads/{id}/consentements", consent_submit)
    app.router.add_get("/inbox/threads/{id}/recommandations", reco_page)
    app.router.add_post("/inbox/threads/{id}/recommandations", reco_submit)
    app.router.add_get("/api/threads/{id}/consents", api_consents)
    app.router.add_post("/api/threads/{id}/consents", api_record)
    app.router.add_post("/api/threads/{id}/recommendations", api_recommendations)
