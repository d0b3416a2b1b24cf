"""The SMTP connector: mail intake on the single contact address (aiosmtpd) and outbound email (aiosmtplib).

``connector()`` is the ``guichet.connectors`` entry point. Lifecycle: ``setup`` adds no routes; ``transports``
gives the outbox its ``email`` transport; ``start`` opens the listener when the ``smtp`` role is on (the bound
port goes to ``hub.services["smtp_port"]`` and a French line to ``hub.services["listening"]``); ``stop`` closes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from connectors.smtp.handler import mime_limits
from connectors.smtp.listener import Listener
from connectors.smtp.transport import EmailTransport, check_relay_settings

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.core import Hub
    from hub.outbox import Transport


class SmtpConnector:
    name = "smtp"

    def __init__(self) -> None:
        self.listener: Listener | None = None

    def check_settings(self, settings: Settings) -> None:
        check_relay_settings(settings)
        mime_limits(settings)

    def setup(self, hub: Hub, app: web.Application) -> None:
        """No HTTP routes."""

    def transports(self, hub: Hub) -> dict[str, Transport]:
        return {"email": EmailTransport(hub.settings)}

    async def start(self, hub: Hub, roles: set[str]) -> None:
        if "smtp" not in roles:
            return
        self.listener = Listener(hub)
        port = await self.listener.start()
        hub.services["smtp_port"] = port
        tls = " (STARTTLS disponible)" if hub.settings.tls_enabled else ""
        hub.services.setdefault("listening", []).append(
            f"Guichet : réception SMTP pour {hub.settings.address} sur {hub.settings.smtp_host}:{port}{tls}")

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
            self.listener = None


def connector() -> SmtpConnector:
    return SmtpConnector()
