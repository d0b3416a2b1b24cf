"""The application keys under which the app holds its shared objects (``app[HUB]`` is the hub)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry

from hub.core import Hub

HUB: web.AppKey[Hub] = web.AppKey("hub", Hub)
REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("registry", CollectorRegistry)
