"""The connector lifecycle. ``hub`` never imports ``connectors``: it finds them through the
``guichet.connectors`` entry points (see ``pyproject.toml``), each a zero-argument factory of a ``Connector``.

Lifecycle, in order: ``setup(hub, app)`` (add HTTP routes and hub services such as notices), ``transports(hub)``
(outbox kinds it can deliver), ``start(hub, roles)`` (listeners such as SMTP), ``stop()``.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

if TYPE_CHECKING:
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


class HttpOnlyConnector:
    """Base for a connector that only adds HTTP routes: no outbox transport, no listener of its own."""

    name = "http"

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
