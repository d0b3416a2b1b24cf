"""FHIR ``Consent`` for API clients: read and record the worker's decisions on the client's own requests.

Routes: ``GET /fhir/Consent?data=Task/{id}`` (scope ``system/Consent.read``): a searchset of the decisions for the
client's purposes, oldest first; ``POST /fhir/Consent`` (scope ``system/Consent.write``): one R4 Consent naming
the Task in ``provision.data`` and the purpose in ``provision.purpose`` (system ``urn:guichet:consent-purpose``):
``status`` ``inactive`` is a withdrawal, else ``provision.type`` ``permit`` a consent and ``deny`` an objection.
Answers 201 with the Consent stored, or an OperationOutcome (400, 403, 404, 415, 422). The hub decides
(``hub.consent.api``); this module converts.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from aiohttp import web
from fhir.resources.R4B.consent import Consent
from pydantic import ValidationError

from connectors.fhir_api.http_common import FHIR_ID, actor_of, authenticate, read_fhir_body
from connectors.fhir_api.outcome import FhirError, fhir_response, one
from connectors.fhir_api.resources import instant, searchset
from connectors.fhir_api.routes_fhir import fhir_handler
from hub.consent.api import client_history, client_record
from hub.consent.registry import ConsentEntry
from hub.inbox.errors import InboxError
from hub.web.keys import HUB

PURPOSE_SYSTEM = "urn:guichet:consent-purpose"
CHANNEL_SYSTEM = "urn:guichet:consent-channel"


def to_fhir(entry: ConsentEntry, task_id: str) -> dict[str, Any]:
    """A decision as an R4 Consent (no identity of the worker: the Task stands for them)."""
    return {
        "resourceType": "Consent", "id": entry.id, "meta": {"lastUpdated": instant(entry.recorded_at)},
        "extension": [{"url": CHANNEL_SYSTEM, "valueCode": entry.channel}],
        "status": "inactive" if entry.decision == "withdrawn" else "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"display": "Salarié de la demande"},
        "dateTime": entry.on.isoformat(),
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                   "code": "OPTIN" if entry.purpose.startswith(("exchange", "pdp")) else "OPTOUT"}]},
        "provision": {"type": "deny" if entry.decision == "objection" else "permit",
                      "purpose": [{"system": PURPOSE_SYSTEM, "code": entry.purpose}],
                      "data": [{"meaning": "related", "reference": {"reference": f"Task/{task_id}"}}]},
    }


def _invalid(expression: str, fr: str, en: str, status: int = 422) -> FhirError:
    return one(status, "invalid", expression, fr, en, "consent")


def _task_of(reference: str | None) -> str:
    task_id = (reference or "").removeprefix("Task/")
    if not reference or not reference.startswith("Task/") or not FHIR_ID.match(task_id):
        raise _invalid("Consent.provision.data.reference", "Le consentement doit désigner la demande : "
                       "provision.data.reference = Task/<id>.", "The Consent must name the request: "
                       "provision.data.reference = Task/<id>.")
    return task_id


def from_fhir(raw: bytes) -> tuple[str, str, str, date | None]:
    """(task id, purpose, decision, date) of a posted Consent, or a FhirError saying what is wrong."""
    try:
        model = Consent.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise _invalid("Consent", "Ressource Consent invalide (FHIR R4).", f"Invalid R4 Consent: "
                       f"{str(exc).splitlines()[0][:200]}", 400) from exc
    provision = model.provision
    data = (provision.data or []) if provision else []
    task_id = _task_of(data[0].reference.reference if data and data[0].reference else None)
    codes = [c.code for c in (provision.purpose or []) if c.system == PURPOSE_SYSTEM] if provision else []
    if len(codes) != 1 or not codes[0]:
        raise _invalid("Consent.provision.purpose", f"Indiquez une finalité (système {PURPOSE_SYSTEM}).",
                       f"Give one purpose (system {PURPOSE_SYSTEM}).")
    if model.status == "inactive":
        decision = "withdrawn"
    elif provision is not None and provision.type in ("permit", "deny"):
        decision = "consent" if provision.type == "permit" else "objection"
    else:
        raise _invalid("Consent.provision.type", "provision.type doit valoir permit ou deny.",
                       "provision.type must be permit or deny.")
    on = model.dateTime
    day = on.date() if isinstance(on, datetime) else on if isinstance(on, date) else None
    return task_id, str(codes[0]), decision, day


def _refused(exc: InboxError) -> FhirError:
    code = "forbidden" if exc.status == 403 else "invalid"
    return one(exc.status if exc.status in (400, 403) else 422, code, "Consent", exc.message, exc.message,
               "consent")


def _not_found(task_id: str) -> FhirError:
    return one(404, "not-found", "Task", f"Aucune ressource Task/{task_id[:64]} pour ce client.",
               f"No Task/{task_id[:64]} for this client.", "not-found")


@fhir_handler
async def search(request: web.Request) -> web.Response:
    grant = await authenticate(request, "system/Consent.read")
    data = request.query.get("data")
    if not data:
        raise one(400, "invalid", "data", "Paramètre data requis : data=Task/<id>.",
                  "Parameter data is required: data=Task/<id>.", "search-parameter")
    task_id = data.removeprefix("Task/")
    hub = request.app[HUB]
    found = await client_history(hub, grant.client_id, task_id, actor_of(request, grant)) \
        if FHIR_ID.match(task_id) else None
    return fhir_response(searchset(hub.settings.base_url, [to_fhir(e, task_id) for e in found or []],
                                   str(request.url)))


@fhir_handler
async def create(request: web.Request) -> web.Response:
    grant = await authenticate(request, "system/Consent.write")
    task_id, purpose, decision, on = from_fhir(await read_fhir_body(request, 64 * 1024))
    hub = request.app[HUB]
    try:
        entry = await client_record(hub, grant.client_id, task_id, purpose, decision, on,
                                    f"client de l'API {grant.client_name}", actor_of(request, grant))
    except InboxError as exc:
        raise _refused(exc) from exc
    if entry is None:
        raise _not_found(task_id)
    return fhir_response(to_fhir(entry, task_id), 201,
                         {"Location": f"{hub.settings.base_url}/fhir/Consent/{entry.id}"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/fhir/Consent", search)
    app.router.add_post("/fhir/Consent", create)
