"""The FHIR R4 API connector for CPTS/DAC coordination software (SMART Backend Services + messaging).

``connector()`` returns the object ``hub.plugins`` loads: ``setup(hub, app)`` adds the routes
(``/oauth/token``, ``/.well-known/*``, ``/fhir/$process-message``, ``/fhir/Task``, ``/fhir/Communication``,
``/fhir/metadata``, ``/openapi.json``); it has no outbox transport and no listener of its own.
Authentication decisions are the hub's (:mod:`hub.smart`); this package converts HTTP and FHIR to hub calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from connectors.fhir_api import measure, routes_auth, routes_fhir, routes_meta
from connectors.fhir_api.http_common import SMART
from hub.plugins import HttpOnlyConnector
from hub.smart import SmartAuth

if TYPE_CHECKING:
    from hub.core import Hub


class FhirApiConnector(HttpOnlyConnector):
    name = "fhir_api"

    def setup(self, hub: Hub, app: web.Application) -> None:
        auth = SmartAuth(hub)
        hub.services["smart"] = auth
        app[SMART] = auth
        routes_auth.add_routes(app)
        routes_fhir.add_routes(app)
        routes_meta.add_routes(app)
        measure.add_routes(app)


def connector() -> FhirApiConnector:
    return FhirApiConnector()
