"""The application factory.

Contract: ``build_app(hub, connectors)`` returns an ``aiohttp.web.Application`` with ``/healthz`` (process up),
``/readyz`` (database reachable and schema current: 200, else 503 with the reason), ``/metrics`` (Prometheus),
security headers on every answer (``hub.web.headers``), and each connector's routes.
The hub is at ``app[HUB]``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from hub.core import Hub
from hub.indicators.metrics import OperationalMetrics
from hub.plugins import Connector
from hub.store.migrate import is_current
from hub.web import indicators_gp_pages, indicators_pages, pickup_pages
from hub.web.headers import install as install_security_headers
from hub.web.inbox_errors import inbox_errors
from hub.web.inbox_routes import setup_inbox
from hub.web.keys import HUB, REGISTRY

__all__ = ["HUB", "REGISTRY", "build_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPERATIONAL: web.AppKey[OperationalMetrics] = web.AppKey("operational_metrics", OperationalMetrics)


def _count_requests(registry: CollectorRegistry) -> Callable[..., Awaitable[web.StreamResponse]]:
    counter = Counter("guichet_http_requests", "HTTP requests answered", ["status"], registry=registry)
    latency = Histogram("guichet_http_request_duration_seconds", "Time to answer an HTTP request", ["route"],
                        registry=registry)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            counter.labels(status=str(exc.status)).inc()
            latency.labels(route=route).observe(time.perf_counter() - started)
            raise
        counter.labels(status=str(response.status)).inc()
        latency.labels(route=route).observe(time.perf_counter() - started)
        return response

    return middleware


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    try:
        await hub.db.ping()
    except Exception as exc:  # noqa: BLE001 - any driver error means "not ready"
        return web.json_response({"status": "unavailable", "reason": f"database unreachable: "
                                  f"{type(exc).__name__}"}, status=503)
    if not await is_current(hub.db):
        return web.json_response({"status": "unavailable", "reason": "database schema is not current: "
                                  "run `guichet migrate`"}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    await request.app[OPERATIONAL].refresh()
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_app(hub: Hub, connectors: Sequence[Connector] = (), client_max_size: int = 30 * 1024 * 1024
              ) -> web.Application:
    registry = CollectorRegistry()
    app = web.Application(middlewares=[_count_requests(registry), inbox_errors], client_max_size=client_max_size)
    install_security_headers(app)  # on every answer, errors and redirects included (hub.web.headers)
    app[HUB] = hub
    app[REGISTRY] = registry
    app[OPERATIONAL] = OperationalMetrics(hub.db)
    registry.register(app[OPERATIONAL])
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)

    setup_inbox(app)
    indicators_pages.add_routes(app)
    indicators_gp_pages.add_routes(app)  # /indicateurs/medecin: a GP's own figures by a link to their MSSanté
    pickup_pages.add_routes(app)  # /retrait/{token}: secure pickup (needs the inbox's templates)
    for connector in connectors:
        connector.setup(hub, app)
    return app
