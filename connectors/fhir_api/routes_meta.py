"""``GET /fhir/metadata`` (the CapabilityStatement) and ``GET /openapi.json`` (``schemas/openapi.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web

from connectors.fhir_api.outcome import fhir_response
from connectors.fhir_api.systems import MESSAGE_EVENT
from hub.web.keys import HUB

OPENAPI: web.AppKey[str] = web.AppKey("fhir_api_openapi", str)
RELEASE_DATE = "2026-11-26"


def capability_statement(base_url: str) -> dict[str, Any]:
    token_url = base_url + "/oauth/token"
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": RELEASE_DATE, "kind": "instance",
        "publisher": "Guichet unique SPSTI",
        "software": {"name": "Guichet", "version": "0.1.0"},
        "implementation": {"description": "Guichet unique SPSTI — API FHIR des CPTS et DAC", "url": base_url + "/fhir"},
        "fhirVersion": "4.0.1", "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "documentation": f"Messages ({MESSAGE_EVENT}): pre-return-visit-request, pdp-referral, "
                             "coordination-request, reply. Authentication: SMART Backend Services.",
            "security": {
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                         "code": "SMART-on-FHIR"}]}],
                "extension": [{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                               "extension": [{"url": "token", "valueUri": token_url}]}],
            },
            "resource": [
                {"type": "Task", "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": [{"name": "status", "type": "token"}, {"name": "_lastUpdated", "type": "date"},
                                 {"name": "_count", "type": "number"}]},
                {"type": "Communication", "interaction": [{"code": "search-type"}],
                 "searchParam": [{"name": "based-on", "type": "reference"}]},
                {"type": "Consent", "interaction": [{"code": "create"}, {"code": "search-type"}],
                 "searchParam": [{"name": "data", "type": "reference"}]},
            ],
            "operation": [{"name": "process-message",
                           "definition": "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message"}],
        }],
    }


async def metadata(request: web.Request) -> web.Response:
    return fhir_response(capability_statement(request.app[HUB].settings.base_url))


async def openapi(request: web.Request) -> web.Response:
    doc = json.loads(request.app[OPENAPI])
    doc["servers"] = [{"url": request.app[HUB].settings.base_url}]
    return web.json_response(doc)


def load_openapi(schemas_dir: Path) -> str:
    return (schemas_dir / "openapi.json").read_text(encoding="utf-8")


def add_routes(app: web.Application) -> None:
    app[OPENAPI] = load_openapi(app[HUB].settings.schemas_dir)
    app.router.add_get("/fhir/metadata", metadata)
    app.router.add_get("/openapi.json", openapi)
