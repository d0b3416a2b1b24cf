"""``/indicateurs`` (HTML, French), its CSV exports and ``GET /api/indicators`` (JSON), for the roles that have
the ``indicators`` right (``hub.rights``: ``direction`` and ``admin`` by default, overridable in guichet.toml).

Contract: ``add_routes(app)`` registers ``GET /indicateurs``, ``GET /indicateurs/{table}.csv``,
``GET /api/indicators`` and ``/static/indicators.css``; ``gp=RPPS`` restricts any of them to the requests of that
médecin traitant (``hub.indicators.figures``). Each handler: who asks (an inbox session whose role has
the ``indicators`` right), then one call to ``Indicators.report``. Anonymous: the page redirects to the login,
JSON and CSV answer 401; another role: 403. Bad input (:class:`IndicatorError`): 400 with a French message
(the page shows it above the period picker). Every answer is ``Cache-Control: no-store``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from urllib.parse import quote, urlencode

from aiohttp import web

from hub import clock
from hub.indicators import IndicatorError, Indicators
from hub.indicators.charts import bar_chart
from hub.indicators.period import DIMENSION_LABELS, MONTHS_FR, month, quarter, year_period
from hub.indicators.report import Report
from hub.web.auth import SessionInfo, current
from hub.web.inbox_common import STATIC, json_error, render
from hub.web.keys import HUB

INDICATORS: web.AppKey[Indicators] = web.AppKey("indicators", Indicators)
QUERY_KEYS = ("from", "to", "month", "quarter", "year", "by", "gp")
FORBIDDEN = "Votre rôle ne donne pas accès aux indicateurs du service."


async def _who(request: web.Request, html: bool) -> SessionInfo:
    info = await current(request.app[HUB], request)
    if info is None:
        if html:
            raise web.HTTPSeeOther(f"/inbox/login?next={quote(request.path_qs, safe='')}")
        raise web.HTTPUnauthorized(text='{"error": "Connexion requise."}', content_type="application/json")
    if not request.app[HUB].rights.can(info.user.role, "indicators"):
        if html:
            raise web.HTTPForbidden(text=FORBIDDEN, content_type="text/plain")
        raise web.HTTPForbidden(text=f'{{"error": "{FORBIDDEN}"}}', content_type="application/json")
    return info


def _query(request: web.Request) -> dict[str, str]:
    return {k: v for k, v in request.query.items() if k in QUERY_KEYS and v}


async def _report(request: web.Request) -> Report:
    return await request.app[INDICATORS].report(_query(request), clock.today())


def _shortcuts(today: date, by: str, gp: str = "") -> list[tuple[str, str]]:
    last_month = month(today.year - (today.month == 1), (today.month - 2) % 12 + 1)
    q = (today.month - 1) // 3 + 1
    last_q = quarter(today.year - (q == 1), (q - 2) % 4 + 1)
    out = []
    for label, period in (("Mois en cours", month(today.year, today.month)), ("Mois précédent", last_month),
                          ("Trimestre en cours", quarter(today.year, q)), ("Trimestre précédent", last_q),
                          ("Année en cours", year_period(today.year)),
                          ("Année précédente", year_period(today.year - 1))):
        query = {"from": period.start.isoformat(), "to": period.end.isoformat(), "by": by, **({"gp": gp} if gp else {})}
        out.append((label, "?" + urlencode(query)))
    return out


async def page(request: web.Request) -> web.Response:
    info = await _who(request, html=True)
    today = clock.today()
    query = _query(request)
    by = query.get("by", "channel")
    context = {"csrf_token": info.csrf_token, "email": info.user.email, "dimensions": DIMENSION_LABELS,
               "by": by if by in DIMENSION_LABELS else "channel", "months": MONTHS_FR, "today": today,
               "shortcuts": _shortcuts(today, by if by in DIMENSION_LABELS else "channel", query.get("gp", "")),
               "error": None,
               "report": None, "charts": {}, "csv_query": urlencode(query),
               "cache_minutes": (request.app[INDICATORS].settings.cache_seconds + 59) // 60,
               "gp": query.get("gp", "")}
    try:
        report = await request.app[INDICATORS].report(query, today)
    except IndicatorError as exc:
        context["error"] = exc.message
        return render(request, "indicators/page.html", context, status=exc.status)
    period = report.figures.period
    context.update(report=report, charts={t.id: bar_chart(t) for t in report.tables},
                   period_from=period.start.isoformat(), period_to=period.end.isoformat(),
                   csv_query=urlencode({"from": period.start.isoformat(), "to": period.end.isoformat(),
                                        "by": report.figures.by,
                                        **({"gp": report.figures.gp} if report.figures.gp else {})}))
    return render(request, "indicators/page.html", context)


def _json_errors(handler: Callable[[web.Request], Awaitable[web.Response]]
                 ) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except IndicatorError as exc:
            return json_error(exc.message, exc.status)

    return wrapped


@_json_errors
async def api(request: web.Request) -> web.Response:
    await _who(request, html=False)
    report = await _report(request)
    return web.json_response(report.to_json(), headers={"Cache-Control": "no-store"})


@_json_errors
async def csv_export(request: web.Request) -> web.Response:
    await _who(request, html=False)
    report = await _report(request)
    table = report.table(request.match_info["table"])
    if table is None:
        return json_error("Tableau inconnu.", 404)
    p = report.figures.period
    who = f"-rpps{report.figures.gp}" if report.figures.gp else ""
    name = f"indicateurs-{table.id}-{report.figures.by}{who}-{p.start.isoformat()}-{p.end.isoformat()}.csv"
    return web.Response(body=table.to_csv().encode("utf-8"), headers={
        "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store"})


async def stylesheet(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "indicators.css", headers={"Cache-Control": "max-age=3600"})


def add_routes(app: web.Application) -> None:
    app[INDICATORS] = Indicators.from_settings(app[HUB].db, app[HUB].settings)
    app.router.add_get("/indicateurs", page)
    app.router.add_get("/indicateurs/{table}.csv", csv_export)
    app.router.add_get("/api/indicators", api)
    app.router.add_get("/static/indicators.css", stylesheet)
