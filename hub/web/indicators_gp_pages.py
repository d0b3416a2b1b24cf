"""``/indicateurs/medecin``: a GP (no account) reads the figures of their own requests through a link sent to the
secure mailbox the directory knows for their RPPS (``hub.indicators.links``). French, public, no script.

Contract: ``add_routes(app)`` registers
- ``GET /indicateurs/medecin``: the form asking for an RPPS (nothing else: no address is ever typed);
- ``POST /indicateurs/medecin`` (``rpps``): a malformed RPPS is said so (400); else the same page for a known or
  unknown RPPS (200: "if it is known, a link was sent"), or 429 with ``Retry-After`` when a limit is reached;
- ``GET /indicateurs/medecin/{token}``: a live link shows a period picker and a button (a mail scanner that follows
  the link spends nothing); a dead one: 404/410 with the reason;
- ``POST /indicateurs/medecin/{token}`` (``from``, ``to``, ``by``): spends the link and shows the figures of that
  practitioner's requests for the period, masked as the direction's (``hub.indicators.report``), no CSV.
POSTs from another origin: 403. Every answer is ``Cache-Control: no-store``, ``Referrer-Policy`` as the app's.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub import clock
from hub.indicators import IndicatorError
from hub.indicators.charts import bar_chart
from hub.indicators.links import GpLinks, LinkError
from hub.indicators.period import DIMENSION_LABELS, parse_gp, parse_query, year_period
from hub.web.auth import client_source, same_origin
from hub.web.inbox_common import render
from hub.web.indicators_pages import INDICATORS
from hub.web.keys import HUB

LINKS: web.AppKey[GpLinks] = web.AppKey("indicator_links", GpLinks)
SENT = ("Si ce numéro RPPS est celui d'un praticien de l'annuaire du service qui a une messagerie sécurisée de santé "
        "(MSSanté), un lien vient d'y être envoyé. Il ne sert qu'une fois et reste valable {hours} heures.")
TOO_MANY = "Trop de demandes : réessayez dans {minutes} minute(s)."


def _page(request: web.Request, status: int = 200, **context: Any) -> web.Response:
    today = clock.today()
    last_year = year_period(today.year - 1)
    base: dict[str, Any] = {"stage": "ask", "notice": None, "error": None, "rpps": "", "token": None,
                            "report": None, "charts": {}, "csv_query": None, "dimensions": DIMENSION_LABELS,
                            "by": "event", "period_from": last_year.start.isoformat(),
                            "period_to": last_year.end.isoformat()}
    response = render(request, "indicators/gp.html", {**base, **context}, status)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _check_origin(request: web.Request) -> None:
    if not same_origin(request):
        raise web.HTTPForbidden(text="Origine refusée.", content_type="text/plain")


async def ask_form(request: web.Request) -> web.Response:
    return _page(request)


async def ask(request: web.Request) -> web.Response:
    _check_origin(request)
    form = await request.post()
    typed = str(form.get("rpps", ""))[:40]
    try:
        rpps = parse_gp({"gp": typed})
        if rpps is None:
            raise IndicatorError("Indiquez votre numéro RPPS (11 chiffres).")
    except IndicatorError as exc:
        return _page(request, 400, error=exc.message, rpps=typed)
    links = request.app[LINKS]
    wait = await links.ask(rpps, client_source(request))
    if wait > 0:
        response = _page(request, 429, error=TOO_MANY.format(minutes=int(wait // 60) + 1), rpps=typed)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    return _page(request, stage="sent", notice=SENT.format(hours=links.hours))


async def open_link(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    try:
        await request.app[LINKS].check(token, client_source(request))
    except LinkError as exc:
        return _page(request, exc.status, stage="gone", error=exc.message)
    return _page(request, stage="link", token=token)


async def show(request: web.Request) -> web.Response:
    _check_origin(request)
    token = request.match_info["token"]
    form = await request.post()
    query = {k: str(form.get(k, ""))[:20] for k in ("from", "to", "by")}
    indicators = request.app[INDICATORS]
    indicators_query = {k: v for k, v in query.items() if v}
    try:
        parse_query(indicators_query, clock.today())  # a bad period spends nothing
    except IndicatorError as exc:
        return _page(request, exc.status, stage="link", token=token, error=exc.message,
                     period_from=query["from"], period_to=query["to"])
    try:
        rpps = await request.app[LINKS].use(token, client_source(request))
    except LinkError as exc:
        return _page(request, exc.status, stage="gone", error=exc.message)
    report = await indicators.report(indicators_query, clock.today(), gp=rpps)
    return _page(request, stage="report", report=report, charts={t.id: bar_chart(t) for t in report.tables})


def add_routes(app: web.Application) -> None:
    app[LINKS] = GpLinks(app[HUB], app[INDICATORS].settings)
    app.router.add_get("/indicateurs/medecin", ask_form)
    app.router.add_post("/indicateurs/medecin", ask)
    app.router.add_get("/indicateurs/medecin/{token}", open_link)
    app.router.add_post("/indicateurs/medecin/{token}", show)
