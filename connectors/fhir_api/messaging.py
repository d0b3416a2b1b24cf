"""``$process-message``: a checked Bundle becomes a request (or a reply on a request) through ``hub.intake``.

Contract: ``await process_message(hub, grant, raw, actor, today, max_entries) -> dict`` (the response Bundle) or
:class:`FhirError`: 400 (not a FHIR message), 422 (profile rule or law, every issue naming its element; more than
``max_entries`` entries), 409
(a MessageHeader id already used by this client with another body), 404-like 422 for a reply to a Task the
client does not own. The same message sent twice gives the same answer and one request. Parsing, model
validation and profile checks run in a worker thread: the event loop keeps answering the other clients.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import date
from typing import TYPE_CHECKING, Any

from connectors.fhir_api import convert
from connectors.fhir_api.bundle import MAX_ENTRIES, MessageBundle, parse_message
from connectors.fhir_api.outcome import FhirError, Issue, one
from connectors.fhir_api.profile import MessageView, check_profile
from connectors.fhir_api.reads import task_resource
from connectors.fhir_api.resources import response_bundle, task
from hub.audit import Actor
from hub.intake.drafts import MessageDraft
from hub.intake.errors import IntakeConflict, IntakeRefused
from hub.smart import AccessGrant

if TYPE_CHECKING:
    from hub.core import Hub


def _conflict() -> FhirError:
    return one(409, "conflict", "MessageHeader.id",
               "Cet identifiant de MessageHeader a déjà été utilisé pour un autre contenu : donnez un nouvel id à "
               "chaque nouveau message (le même id ne sert qu'à renvoyer exactement le même message).",
               "This MessageHeader.id was already used with a different content: give each new message a new id "
               "(re-use an id only to re-send exactly the same message).", "message-id-reused")


def read_message(raw: bytes, max_entries: int = MAX_ENTRIES) -> tuple[MessageBundle, MessageView]:
    """Parse, validate and profile-check a Bundle (CPU work: run in a worker thread, never on the loop)."""
    bundle = parse_message(raw, max_entries)
    return bundle, check_profile(bundle)


async def process_message(hub: Hub, grant: AccessGrant, raw: bytes, actor: Actor, today: date,
                          max_entries: int = MAX_ENTRIES) -> dict[str, Any]:
    bundle, view = await asyncio.to_thread(read_message, raw, max_entries)
    if view.event == "reply":
        return await _reply(hub, grant, bundle, view, actor)
    draft = convert.request_draft(view, bundle, grant)
    try:
        result = await hub.intake.submit(draft, actor, today)
    except IntakeRefused as refused:
        raise FhirError(422, [Issue("business-rule", convert.law_expression(v.field, view), v.fr, v.en, v.code)
                              for v in refused.violations]) from None
    except IntakeConflict:
        raise _conflict() from None
    resource = task(result.request_id, result.status, view.event, result.reference)
    return response_bundle(hub.settings.base_url, view.header_id, grant.client_id, view.event, resource)


def canonical_digest(raw: bytes) -> str:
    data = json.loads(raw)
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode("utf-8")).hexdigest()


async def _reply(hub: Hub, grant: AccessGrant, bundle: MessageBundle, view: MessageView, actor: Actor
                 ) -> dict[str, Any]:
    assert view.task_id is not None
    owned = await hub.client_tasks.owned(grant.client_id, view.task_id[:64])
    if owned is None:
        raise one(422, "not-found", "Communication.basedOn",
                  f"Aucune demande Task/{view.task_id[:64]} de ce client : une réponse ne peut porter que sur vos "
                  "propres demandes.", f"No Task/{view.task_id[:64]} of this client: a reply can only be about "
                  "your own requests.", "task-not-found")
    author = convert.requester(view.requester, view, grant).name or grant.client_name
    source_key = f"fhir:{grant.client_id}:{view.header_id}"
    result = await hub.intake.add_message(MessageDraft(
        thread_id=owned.thread_id, channel="fhir", source_key=source_key, author_label=author,
        body=convert.reason_text(view), raw=bundle.raw, client_id=grant.client_id, trust="api"), actor)
    if not result.created:
        stored = await hub.client_tasks.message_raw(result.message_id)
        if stored is None or stored[0] != owned.thread_id or canonical_digest(stored[1] or b"{}") != bundle.digest:
            raise _conflict()
    return response_bundle(hub.settings.base_url, view.header_id, grant.client_id, view.event,
                           task_resource(owned))
