"""The FHIR R4 API connector for CPTS/DAC coordination software (SMART Backend Services + messaging).

``connector()`` returns the object ``hub.plugins`` loads: ``setup(hub, app)`` adds the routes
(``/oauth/token``, ``/.well-known/*``, ``/fhir/$process-message``, ``/fhir/Task``, ``/fhir/Communication``,
``/fhir/metadata``, ``/openapi.json``, ``/fhir/Consent``); it has no outbox transport and no listener of its own.
Authentication decisions are the hub's (:mod:`hub.smart`); this package converts HTTP and FHIR to hub calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from connectors.fhir_api import consents, measure, routes_auth, routes_fhir, routes_meta
from connectors.fhir_api.bundle import MAX_ENTRIES
from connectors.fhir_api.http_common import MAX_ENTRIES_KEY, SMART
from hub.plugins import HttpOnlyConnector
from hub.settings_check import integer, number
from hub.smart import SmartAuth

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.core import Hub


def max_entries(settings: Settings) -> int:
    """``fhir_max_bundle_entries``: the most entries a message Bundle may carry (checked)."""
    return integer(settings.extra, "fhir_max_bundle_entries", MAX_ENTRIES, 2, 100_000)


class FhirApiConnector(HttpOnlyConnector):
    name = "fhir_api"

    def check_settings(self, settings: Settings) -> None:
        for name, default in (("token_rate", 2.0), ("token_burst", 20.0), ("api_rate", 200.0), ("api_burst", 400.0)):
            number(settings.extra, name, default)
        max_entries(settings)

    def setup(self, hub: Hub, app: web.Application) -> None:
        auth = SmartAuth(hub)
        hub.services["smart"] = auth
        app[SMART] = auth
        app[MAX_ENTRIES_KEY] = max_entries(hub.settings)
        routes_auth.add_routes(app)
        routes_fhir.add_routes(app)
        routes_meta.add_routes(app)
        consents.add_routes(app)  # issue 13: GET/POST /fhir/Consent
        measure.add_routes(app)


def connector() -> FhirApiConnector:
    return FhirApiConnector()
