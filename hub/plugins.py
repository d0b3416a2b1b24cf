"""The connector lifecycle. ``hub`` never imports ``connectors``: it finds them through the
``guichet.connectors`` entry points (see ``pyproject.toml``), each a zero-argument factory of a ``Connector``.

Lifecycle, in order: ``check_settings(settings)`` (optional: read the connector's settings typed, raise
:class:`hub.settings_check.SettingError` on a bad value; the server calls it before anything listens),
``setup(hub, app)`` (add HTTP routes and hub services such as notices), ``transports(hub)``
(outbox kinds it can deliver), ``start(hub, roles)`` (listeners such as SMTP), ``stop()``.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.core import Hub
    from hub.outbox import Transport

log = logging.getLogger(__name__)
GROUP = "guichet.connectors"


class Connector(Protocol):
    name: str

    def setup(self, hub: Hub, app: web.Application) -> None: ...

    def transports(self, hub: Hub) -> dict[str, Transport]: ...

    async def start(self, hub: Hub, roles: set[str]) -> None: ...

    async def stop(self) -> None: ...


def check_connector_settings(connectors: list[Connector] | tuple[Connector, ...], settings: Settings) -> None:
    """Every connector's settings, typed and checked; raises ``SettingError`` naming the first bad one."""
    for connector in connectors:
        check = getattr(connector, "check_settings", None)
        if check is not None:
            check(settings)


class HttpOnlyConnector:
    """Base for a connector that only adds HTTP routes: no outbox transport, no listener of its own."""

    name = "http"

    def check_settings(self, settings: Settings) -> None:
        return None

    def setup(self, hub: Hub, app: web.Application) -> None:
        raise NotImplementedError

    def transports(self, hub: Hub) -> dict[str, Transport]:
        return {}

    async def start(self, hub: Hub, roles: set[str]) -> None:
        return None

    async def stop(self) -> None:
        return None


def load_connectors() -> list[Connector]:
    found: list[Connector] = []
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            factory = ep.load()
        except (ImportError, AttributeError) as exc:
            log.warning("connector %s not loaded: %s", ep.name, exc)
            continue
        found.append(factory())
    return found
