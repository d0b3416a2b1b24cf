"""Pieces every FHIR API handler shares: the SMART service in the app, the caller, body reading with limits."""

from __future__ import annotations

import re

from aiohttp import web

from connectors.fhir_api.outcome import FhirError, Issue, one
from hub.audit import Actor
from hub.intake.errors import UNAVAILABLE
from hub.smart import AccessGrant, AuthError, SmartAuth
from hub.web.keys import HUB

SMART: web.AppKey[SmartAuth] = web.AppKey("fhir_api_smart", SmartAuth)
MAX_ENTRIES_KEY: web.AppKey[int] = web.AppKey("fhir_api_max_entries", int)
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
FHIR_MEDIA_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
TRANSIENT = UNAVAILABLE


def auth_error(exc: AuthError) -> FhirError:
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="guichet", error="invalid_token"'
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    code = {401: "login", 403: "forbidden", 429: "throttled"}.get(exc.status, "security")
    return FhirError(exc.status, [Issue(code, "Authorization", exc.fr, exc.en, exc.code)], headers)


async def authenticate(request: web.Request, scope: str) -> AccessGrant:
    try:
        return await request.app[SMART].authenticate(request.headers.get("Authorization"), scope)
    except AuthError as exc:
        if scope.endswith(".read"):  # a refused read is audited, like the inbox's
            await request.app[HUB].audit.record_refusal(
                actor=Actor("api:refused", request.remote), action="read", entity_type=scope.split("/")[-1][:-5],
                entity_id=request.match_info.get("id", "")[:64] or None, detail=f"{exc.status} {exc.code}"[:300])
        raise auth_error(exc) from exc


def actor_of(request: web.Request, grant: AccessGrant) -> Actor:
    return Actor(f"api:{grant.client_id}", request.remote)


def unavailable() -> FhirError:
    return one(503, "transient", "Bundle", "Service momentanément indisponible : rien n'a été enregistré, "
               "renvoyez le même message plus tard.", "Service temporarily unavailable: nothing was stored; "
               "re-send the same message later.", "storage-unavailable", headers={"Retry-After": "5"})


async def read_fhir_body(request: web.Request, limit: int = MAX_MESSAGE_BYTES) -> bytes:
    """The request body, after checking its media type (415) and size (413)."""
    if request.content_type not in FHIR_MEDIA_TYPES:
        raise one(415, "not-supported", "Bundle", "Type de contenu non pris en charge : envoyez "
                  "« Content-Type: application/fhir+json ».", "Unsupported media type: send "
                  "'Content-Type: application/fhir+json'.", "media-type")
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> FhirError:
    mb = limit // (1024 * 1024)
    return one(413, "too-long", "Bundle", f"Message trop volumineux : {mb} Mo au maximum.",
               f"Message too large: at most {mb} MB.", "too-large")
