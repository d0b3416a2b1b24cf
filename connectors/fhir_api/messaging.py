"""``$process-message``: a checked Bundle becomes a request (or a reply on a request) through ``hub.intake``.

Contract: ``await process_message(hub, grant, raw, actor, today) -> dict`` (the response Bundle) or
:class:`FhirError`: 400 (not a FHIR message), 422 (profile rule or law, every issue naming its element), 409
(a MessageHeader id already used by this client with another body), 404-like 422 for a reply to a Task the
client does not own. The same message sent twice gives the same answer and one request.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from sqlalchemy import select

from connectors.fhir_api import convert
from connectors.fhir_api.bundle import MessageBundle, parse_message
from connectors.fhir_api.outcome import FhirError, Issue, one
from connectors.fhir_api.profile import MessageView, check_profile
from connectors.fhir_api.resources import response_bundle, task
from hub.audit import Actor
from hub.core import Hub
from hub.indicators.refusals import record_refusal
from hub.intake.drafts import MessageDraft
from hub.intake.law import check_request
from hub.smart import AccessGrant
from hub.store.models import Message, Request, Thread


def _conflict() -> FhirError:
    return one(409, "conflict", "MessageHeader.id",
               "Cet identifiant de MessageHeader a déjà été utilisé pour un autre contenu : donnez un nouvel id à "
               "chaque nouveau message (le même id ne sert qu'à renvoyer exactement le même message).",
               "This MessageHeader.id was already used with a different content: give each new message a new id "
               "(re-use an id only to re-send exactly the same message).", "message-id-reused")


async def process_message(hub: Hub, grant: AccessGrant, raw: bytes, actor: Actor, today: date) -> dict[str, Any]:
    bundle = parse_message(raw)
    view = check_profile(bundle)
    if view.event == "reply":
        return await _reply(hub, grant, bundle, view, actor)
    draft = convert.request_draft(view, bundle, grant)
    violations = check_request(draft, today)
    if violations:
        earlier = await _accepted_before(hub, draft.source_key, bundle.digest)
        if earlier is None:  # a message accepted earlier (say, yesterday) keeps its answer when re-sent
            await record_refusal(hub.db, channel="fhir", event=draft.event, requester_kind=draft.requester.kind,
                                 reasons=[v.code for v in violations], client_id=grant.client_id)
            raise FhirError(422, [Issue("business-rule", convert.law_expression(v.field, view), v.fr, v.en,
                                        v.code) for v in violations])
    result = await hub.intake.submit(draft, actor)
    if not result.created and await _stored_digest(hub, result.request_id) != bundle.digest:
        raise _conflict()
    resource = task(result.request_id, result.status, view.event, result.reference)
    return response_bundle(hub.settings.base_url, view.header_id, grant.client_id, view.event, resource)


async def _accepted_before(hub: Hub, source_key: str, digest: str) -> str | None:
    """The id of the request this very message created earlier, if any."""
    async with hub.db.session() as session:
        request_id = (await session.execute(select(Request.id).where(Request.source_key == source_key))
                      ).scalar_one_or_none()
    if request_id is not None and await _stored_digest(hub, request_id) == digest:
        return str(request_id)
    return None


async def _stored_digest(hub: Hub, request_id: str) -> str | None:
    async with hub.db.session() as session:
        row = await session.get(Request, request_id)
        if row is None:
            return None
        payload = await hub.sealer.open_json(session, row.data_key_id, "requests", row.id, "payload",
                                             row.payload_enc)
    extra = payload.get("extra") or {}
    return extra.get("body_sha256")


def canonical_digest(raw: bytes) -> str:
    data = json.loads(raw)
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode("utf-8")).hexdigest()


async def _reply(hub: Hub, grant: AccessGrant, bundle: MessageBundle, view: MessageView, actor: Actor
                 ) -> dict[str, Any]:
    assert view.task_id is not None
    async with hub.db.session() as session:
        row = (await session.execute(
            select(Request, Thread.reference).join(Thread, Thread.id == Request.thread_id)
            .where(Request.id == view.task_id[:64], Thread.client_id == grant.client_id))).first()
    if row is None:
        raise one(422, "not-found", "Communication.basedOn",
                  f"Aucune demande Task/{view.task_id[:64]} de ce client : une réponse ne peut porter que sur vos "
                  "propres demandes.", f"No Task/{view.task_id[:64]} of this client: a reply can only be about "
                  "your own requests.", "task-not-found")
    request, reference = row
    author = convert.requester(view.requester, view, grant).name or grant.client_name
    source_key = f"fhir:{grant.client_id}:{view.header_id}"
    result = await hub.intake.add_message(MessageDraft(
        thread_id=request.thread_id, channel="fhir", source_key=source_key, author_label=author,
        body=convert.reason_text(view), raw=bundle.raw, client_id=grant.client_id), actor)
    if not result.created:
        async with hub.db.session() as session:
            message = await session.get(Message, result.message_id)
            stored = await hub.sealer.open(session, message.data_key_id, "messages", message.id, "raw",
                                           message.raw_enc) if message is not None and message.raw_enc else b""
        if message is None or message.thread_id != request.thread_id or canonical_digest(stored) != bundle.digest:
            raise _conflict()
    resource = task(request.id, request.status, request.event, reference, business_status=request.business_status,
                    created=request.created_at, updated=request.updated_at)
    return response_bundle(hub.settings.base_url, view.header_id, grant.client_id, view.event, resource)
