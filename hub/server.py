"""``guichet serve``: run the HTTP app, the connectors' listeners and the outbox worker until a signal.

Roles: ``api`` (HTTP), ``smtp`` (mail intake, started by the SMTP connector), ``worker`` (outbox delivery),
``mssante`` (the MSSanté mailbox reader, started by its connector when configured).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence

from aiohttp import web

from hub.config import PROCESS_ROLES
from hub.consent.dispatch import RecommendationsWorker
from hub.core import Hub
from hub.outbox import OutboxWorker, Transport
from hub.plugins import Connector, check_connector_settings
from hub.scale.config import ScaleConfig
from hub.scale.wakeups import OutboxListener
from hub.tls import server_context
from hub.web.app import build_app

log = logging.getLogger(__name__)
ROLES = PROCESS_ROLES


class Server:
    """Start and stop everything one process runs; usable from tests (``await server.start()``)."""

    def __init__(self, hub: Hub, connectors: Sequence[Connector], roles: Sequence[str] = ROLES) -> None:
        self.hub = hub
        self.connectors = list(connectors)
        self.roles = set(roles)
        self.runner: web.AppRunner | None = None
        self.worker: OutboxWorker | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self.listener: OutboxListener | None = None
        self._listener_task: asyncio.Task[None] | None = None
        self.http_port: int | None = None

    async def start(self) -> list[str]:
        settings, urls = self.hub.settings, []
        check_connector_settings(self.connectors, settings)  # a bad setting stops us before anything listens
        scale = ScaleConfig.from_settings(settings)
        app = build_app(self.hub, self.connectors)
        if "api" in self.roles:
            # lingering_time: after refusing a body early (413, 415), read and drop the rest for at most 2 s (aiohttp's
            # default 10 s also delays a stop by that long while a client keeps sending)
            self.runner = web.AppRunner(app, access_log=None, lingering_time=2.0)
            await self.runner.setup()
            ssl_ctx = server_context(settings.tls_cert, settings.tls_key) if (
                settings.tls_cert and settings.tls_key) else None
            site = web.TCPSite(self.runner, settings.http_host, settings.http_port, ssl_context=ssl_ctx)
            await site.start()
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            self.http_port = sockets[0].getsockname()[1] if sockets else settings.http_port
            if settings.http_port == 0:  # an ephemeral port (tests): links in emails must name the real one
                settings = settings.with_(http_port=self.http_port)
                self.hub.use_settings(settings)
            scheme = "https" if ssl_ctx else "http"
            urls.append(f"{scheme}://{settings.http_host}:{self.http_port}/")
        for connector in self.connectors:
            await connector.start(self.hub, self.roles)
        if "worker" in self.roles:
            transports: dict[str, Transport] = {}
            for connector in self.connectors:
                transports.update(connector.transports(self.hub))
            self.worker = worker = OutboxWorker(self.hub.db, self.hub.outbox, transports,
                                                self.hub.settings.outbox_max_attempts,
                                                idle_seconds=scale.poll_seconds, lease=scale.lease)
            if self.hub.db.is_postgres and scale.listen:

                def polling(listening: bool) -> None:
                    worker.idle_seconds = scale.listen_poll_seconds if listening else scale.poll_seconds

                self.listener = OutboxListener(self.hub.db, self.hub.outbox.wakeup, on_state=polling)
                self._listener_task = asyncio.create_task(self.listener.run())
            self._worker_task = asyncio.create_task(self.worker.run())
            self.recommendations = RecommendationsWorker(self.hub)  # issue 13: delayed pré-reprise letters
            self._reco_task: asyncio.Task[None] | None = asyncio.create_task(self.recommendations.run())
        return urls

    async def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self._worker_task is not None:
            await self._worker_task
        if self.listener is not None and self._listener_task is not None:
            self.listener.stop()
            await self._listener_task
        reco_task = getattr(self, "_reco_task", None)
        if reco_task is not None:
            self.recommendations.stop()
            await reco_task
        for connector in self.connectors:
            await connector.stop()
        if self.runner is not None:
            await self.runner.cleanup()


async def serve_forever(hub: Hub, connectors: Sequence[Connector], roles: Sequence[str]) -> None:
    server = Server(hub, connectors, roles)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    urls = await server.start()
    for url in urls:
        print(f"Guichet : interface web et API sur {url}", flush=True)
    for line in hub.services.get("listening", []):
        print(line, flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()
        await hub.close()
