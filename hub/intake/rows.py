"""The rows one accepted draft becomes (pieces of :mod:`hub.intake.service`), added to the caller's session.

Contract: ``add_message_row(sealer, session, …)`` adds a message (encrypted body, raw, sender name) and its
attachments and returns its id; ``lookup_digests(hasher, draft, reference)`` the keyed digests a search finds the
request by; ``add_consent(sealer, hasher, session, draft, request_id)`` the worker's consent record. Nothing here
commits or reads.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub import clock
from hub.crypto.lookup import LookupHasher
from hub.intake.drafts import TRUST_LEVELS, AttachmentDraft, RequestDraft
from hub.store.models import Attachment, ConsentRecord, Message, new_id, utcnow
from hub.store.sealing import Sealer


def add_message_row(sealer: Sealer, session: AsyncSession, thread_id: str, request_id: str | None, *,
                    direction: str, kind: str, channel: str, author_label: str, body: str, raw: bytes | None,
                    rfc822_id: str | None, attachments: list[AttachmentDraft], dedupe_key: str | None,
                    author_user_id: int | None = None, author_name: str | None = None, trust: str | None = None,
                    claimed_rpps: str | None = None) -> str:
    """Add a message (encrypted body, raw, sender name and attachments) to the session; return its id.

    ``author_label`` is stored in clear and must not identify a worker (a role, or a professional's name);
    ``author_name`` (whoever wrote it, possibly the worker) is stored encrypted."""
    message_id = new_id()
    key = sealer.new_key(session)
    session.add(Message(
        id=message_id, thread_id=thread_id, request_id=request_id, direction=direction, kind=kind,
        channel=channel, author_user_id=author_user_id, author_label=author_label[:200],
        dedupe_key=dedupe_key, rfc822_id=rfc822_id, data_key_id=key.id,
        author_enc=sealer.seal(key, "messages", message_id, "author", author_name) if author_name else None,
        body_enc=sealer.seal(key, "messages", message_id, "body", body),
        raw_enc=sealer.seal(key, "messages", message_id, "raw", raw) if raw is not None else None,
        created_at=utcnow(), trust=(trust if trust in TRUST_LEVELS else "unverified") if trust else None,
        claimed_rpps=claimed_rpps,
    ))
    for att in attachments:
        att_id = new_id()
        session.add(Attachment(
            id=att_id, message_id=message_id, content_type=att.content_type[:120], size=len(att.content),
            data_key_id=key.id,
            filename_enc=sealer.seal(key, "attachments", att_id, "filename", att.filename),
            content_enc=sealer.seal(key, "attachments", att_id, "content", att.content)))
    return message_id

def lookup_digests(hasher: LookupHasher, draft: RequestDraft, reference: str) -> set[str]:
    digests = {hasher.digest("reference", reference)}
    if draft.worker is not None:
        if draft.worker.family_name:
            digests.update(hasher.name_digests(draft.worker.family_name, draft.worker.given_names))
        if draft.worker.ins:
            digests.add(hasher.digest("ins", draft.worker.ins))
    if draft.employer is not None:
        if draft.employer.name:
            digests.add(hasher.digest("employer", draft.employer.name))
        if draft.employer.siret:
            digests.add(hasher.digest("siret", draft.employer.siret))
    return digests

def add_consent(sealer: Sealer, hasher: LookupHasher, session: AsyncSession, draft: RequestDraft,
                request_id: str) -> None:
    assert draft.consent is not None and draft.worker is not None
    consent, worker, record_id = draft.consent, draft.worker, new_id()
    ident = worker.ins or f"{worker.family_name}|{worker.given_names}|{worker.birth_date}"
    key = sealer.new_key(session)
    session.add(ConsentRecord(
        id=record_id, worker_digest=hasher.digest("worker", ident), request_id=request_id,
        purpose=draft.event, decision=consent.decision,
        given_on=(consent.given_on or clock.today()).isoformat(), channel=consent.channel,
        declared_by=consent.declared_by, data_key_id=key.id,
        details_enc=sealer.seal_json(key, "consents", record_id, "details",
                                              {"requester": draft.requester.name,
                                               "requester_kind": draft.requester.kind})))
