"""HTTP side of the FHIR API: ``$process-message``, Task and Communication reads.

Handlers are thin: authenticate (hub.smart), read/convert, call the service, answer FHIR JSON. Any
:class:`FhirError` becomes an OperationOutcome; a storage failure a 503 saying nothing was stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

from aiohttp import web

from connectors.fhir_api import reads
from connectors.fhir_api.http_common import (
    FHIR_ID,
    MAX_ENTRIES_KEY,
    TRANSIENT,
    actor_of,
    authenticate,
    read_fhir_body,
    unavailable,
)
from connectors.fhir_api.messaging import process_message
from connectors.fhir_api.outcome import FhirError, error_response, fhir_response, one
from connectors.fhir_api.resources import searchset
from hub import clock
from hub.client_tasks import TASK_STATUSES
from hub.web.keys import HUB

Handler = Callable[[web.Request], Awaitable[web.Response]]
DEFAULT_COUNT, MAX_COUNT = 50, 200


def fhir_handler(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except FhirError as exc:
            response = error_response(exc)
            if exc.status == 413:
                # The unread body stays on the connection: answer, then close it at once rather than let the
                # server read and drop the rest for its lingering time.
                response.headers["X-Content-Type-Options"] = "nosniff"
                response.force_close()
                await response.prepare(request)
                await response.write_eof()
                request.protocol.force_close()
            return response
        except TRANSIENT:
            return error_response(unavailable())

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


@fhir_handler
async def process(request: web.Request) -> web.Response:
    grant = await authenticate(request, "system/Bundle.write")
    raw = await read_fhir_body(request)
    answer = await process_message(request.app[HUB], grant, raw, actor_of(request, grant), clock.today(),
                                   request.app[MAX_ENTRIES_KEY])
    return fhir_response(answer)


def _not_found(kind: str, ident: str) -> FhirError:
    return one(404, "not-found", kind, f"Aucune ressource {kind}/{ident[:64]} pour ce client.",
               f"No {kind}/{ident[:64]} for this client.", "not-found")


@fhir_handler
async def read_task(request: web.Request) -> web.Response:
    grant = await authenticate(request, "system/Task.read")
    task_id = request.match_info["id"]
    if not FHIR_ID.match(task_id):
        raise _not_found("Task", task_id)
    resource = await reads.read_task(request.app[HUB], grant, task_id, actor_of(request, grant))
    if resource is None:
        raise _not_found("Task", task_id)
    return fhir_response(resource)


def _bad_param(name: str, fr: str, en: str) -> FhirError:
    return one(400, "invalid", name, fr, en, "search-parameter")


def parse_last_updated(values: list[str]) -> list[tuple[str, datetime]]:
    out: list[tuple[str, datetime]] = []
    for value in values:
        prefix = value[:2] if value[:2] in reads.COMPARATORS else "eq"
        text = value[2:] if value[:2] in reads.COMPARATORS else value
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00")) if "T" in text else \
                datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError as exc:
            raise _bad_param("_lastUpdated", f"Date invalide « {value[:40]} » : utilisez par exemple "
                             "gt2026-01-31T00:00:00Z.", f"Invalid date '{value[:40]}': use e.g. "
                             "gt2026-01-31T00:00:00Z.") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            moment = moment.astimezone(UTC)
        except OverflowError as exc:
            raise _bad_param("_lastUpdated", f"Date hors limites « {value[:40]} ».",
                             f"Date out of range '{value[:40]}'.") from exc
        out.append((prefix, moment))
    return out


def parse_count(value: str | None) -> int:
    if value is None:
        return DEFAULT_COUNT
    if not value.isdigit() or not 1 <= int(value) <= MAX_COUNT:
        raise _bad_param("_count", f"_count doit être un entier entre 1 et {MAX_COUNT}.",
                         f"_count must be an integer between 1 and {MAX_COUNT}.")
    return int(value)


@fhir_handler
async def search_tasks(request: web.Request) -> web.Response:
    grant = await authenticate(request, "system/Task.read")
    query = request.query
    statuses = [s for v in query.getall("status", []) for s in v.split(",") if s]
    unknown = [s for s in statuses if s not in TASK_STATUSES]
    if unknown:
        raise _bad_param("status", f"Statut inconnu « {unknown[0][:40]} » (connus : {', '.join(TASK_STATUSES)}).",
                         f"Unknown status '{unknown[0][:40]}' (known: {', '.join(TASK_STATUSES)}).")
    updated = parse_last_updated(query.getall("_lastUpdated", []))
    count = parse_count(query.get("_count"))
    hub = request.app[HUB]
    found = await reads.search_tasks(hub, grant, statuses, updated, count, actor_of(request, grant))
    return fhir_response(searchset(hub.settings.base_url, found, str(request.url)))


@fhir_handler
async def search_communications(request: web.Request) -> web.Response:
    grant = await authenticate(request, "system/Communication.read")
    based_on = request.query.get("based-on")
    if not based_on:
        raise _bad_param("based-on", "Paramètre based-on requis : based-on=Task/<id>.",
                         "Parameter based-on is required: based-on=Task/<id>.")
    task_id = based_on.removeprefix("Task/")
    hub = request.app[HUB]
    found = None
    if FHIR_ID.match(task_id):
        found = await reads.search_communications(hub, grant, task_id, actor_of(request, grant))
    return fhir_response(searchset(hub.settings.base_url, found or [], str(request.url)))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/fhir/$process-message", process)
    app.router.add_get("/fhir/Task/{id}", read_task)
    app.router.add_get("/fhir/Task", search_tasks)
    app.router.add_get("/fhir/Communication", search_communications)
