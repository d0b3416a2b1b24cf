"""The MSSanté connector: the SPSTI's BAL applicative, read over IMAP and answered by SMTP submission.

``connector()`` is the ``guichet.connectors`` entry point. Lifecycle (fixed, like the SMTP connector's):
- ``check_settings(settings)``: builds the typed ``MssanteConfig`` once from the ``GUICHET_MSSANTE_*`` settings (a
  bad value raises ``hub.settings_check.SettingError`` naming the setting; the server calls it before anything
  listens). Not configured (``GUICHET_MSSANTE_ADDRESS`` unset): the connector stays off.
- ``setup(hub, app)``: no HTTP routes.
- ``transports(hub)``: the outbox transport of kind ``mssante`` (replies, acknowledgements and MDNs to MSSanté
  addresses) when configured.
- ``start(hub, roles)``: with the ``mssante`` role, starts the reader (a background task; it takes the database
  lease first) and adds a French line to ``hub.services["listening"]``; the reader is ``hub.services["mssante"]``.
- ``stop()``: stops the reader and releases the lease.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import TYPE_CHECKING

from aiohttp import web

from connectors.mssante.config import MssanteConfig
from connectors.mssante.inbound import Inbound
from connectors.mssante.reader import Reader
from connectors.mssante.transport import MssanteTransport

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.core import Hub
    from hub.outbox import Transport


class MssanteConnector:
    name = "mssante"

    def __init__(self) -> None:
        self.config: MssanteConfig | None = None
        self.reader: Reader | None = None
        self._task: asyncio.Task[None] | None = None

    def _configure(self, hub: Hub) -> MssanteConfig | None:
        if self.config is None:
            self.config = MssanteConfig.from_settings(hub.settings)
        return self.config

    def check_settings(self, settings: Settings) -> None:
        """Build the typed config (the server calls this before anything listens)."""
        self.config = MssanteConfig.from_settings(settings)

    def setup(self, hub: Hub, app: web.Application) -> None:
        """No HTTP routes."""
        self._configure(hub)

    def transports(self, hub: Hub) -> dict[str, Transport]:
        config = self._configure(hub)
        return {"mssante": MssanteTransport(config)} if config is not None else {}

    async def start(self, hub: Hub, roles: set[str]) -> None:
        config = self._configure(hub)
        if "mssante" not in roles or config is None:
            return
        mailbox = hub.mailbox
        holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.reader = Reader(Inbound(hub, config, mailbox), config, mailbox, holder)
        hub.services["mssante"] = self.reader
        self._task = asyncio.create_task(self.reader.run())
        host, port = config.imap
        hub.services.setdefault("listening", []).append(
            f"Guichet : lecture de la BAL MSSanté {config.address} sur {host}:{port} ({config.tls_mode})")

    async def stop(self) -> None:
        if self.reader is not None:
            self.reader.stop()
        if self._task is not None:
            await self._task
            self._task = None
        self.reader = None


def connector() -> MssanteConnector:
    return MssanteConnector()
