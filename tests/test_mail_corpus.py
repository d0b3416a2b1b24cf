"""The real-world mail corpus (tests/mail_corpus): each message is sent to a running guichet over SMTP and what
must happen to it (tests/mail_corpus/expectations.toml) is checked in the database and the outbox."""

from __future__ import annotations

import tomllib
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.core import Hub
from hub.demo import EXAMPLE_DIRECTORY
from hub.directory.importer import import_directory
from hub.store.models import Attachment, Message, OutboxItem, Practitioner, Request, Thread, ThreadAlias
from tests.conftest import wait_until
from tests.protect_support import triage_of
from tests.test_smtp_support import Guichet, message_bodies, payload, start_guichet

CORPUS = Path(__file__).parent / "mail_corpus"
CASES: list[dict[str, Any]] = tomllib.loads((CORPUS / "expectations.toml").read_text("utf-8"))["message"]
SEED = "01_thunderbird_alternative_utf8.eml"


def test_corpus_is_large_and_every_file_has_expectations() -> None:
    files = sorted(p.name for p in CORPUS.glob("*.eml"))
    assert len(files) >= 30
    assert sorted(c["file"] for c in CASES) == files


async def email_requests(hub: Hub) -> list[tuple[Request, Thread]]:
    async with hub.db.session() as session:
        rows = (await session.execute(
            select(Request, Thread).join(Thread, Thread.id == Request.thread_id)
            .where(Request.source_key.like("email:%")).order_by(Request.created_at))).all()
    return [(r, t) for r, t in rows]


async def seed_thread(guichet: Guichet, wait_for_ack: bool) -> tuple[Thread, str]:
    """A first GP request (the thread replies and reports refer to) and its acknowledgement's Message-ID."""
    code, _ = await guichet.send((CORPUS / SEED).read_bytes(), mail_from="dr.dubois@medecins-demo.fr")
    assert code == 250
    [(_, thread)] = await email_requests(guichet.hub)
    async with guichet.hub.db.session() as session:
        ack_id = (await session.execute(select(ThreadAlias.rfc822_id).where(
            ThreadAlias.thread_id == thread.id, ThreadAlias.rfc822_id.like("<ack.%")))).scalar_one()
    if wait_for_ack:
        async def ack_sent() -> bool:
            async with guichet.hub.db.session() as session:
                return (await session.execute(select(OutboxItem.status).where(
                    OutboxItem.thread_id == thread.id, OutboxItem.purpose == "ack"))).scalar_one() == "sent"
        await wait_until(ack_sent)
    return thread, ack_id


async def acks_for(hub: Hub, thread_id: str) -> int:
    async with hub.db.session() as session:
        return len((await session.execute(select(OutboxItem.id).where(
            OutboxItem.thread_id == thread_id, OutboxItem.purpose == "ack"))).all())


async def check_request(hub: Hub, case: dict[str, Any], request: Request, thread: Thread) -> None:
    data = await payload(hub, request)
    reason = await triage_of(hub, request)
    if "triage" in case:
        assert request.in_triage is case["triage"], (reason, case)
    if "triage_reason" in case:
        assert case["triage_reason"] in (reason or ""), reason
    if "assigned" in case:
        async with hub.db.session() as session:
            doctor = await session.get(Practitioner, request.assigned_practitioner_id)
        assert doctor is not None and doctor.rpps == case["assigned"], reason
    if "siret" in case:
        assert (request.employer_siret or "") == case["siret"]
    if "hint" in case:
        assert case["hint"] in (data.get("triage_hint") or ""), data.get("triage_hint")
    if "requester_kind" in case:
        assert request.requester_kind == case["requester_kind"]
    async with hub.db.session() as session:
        first = (await session.execute(select(Message).where(
            Message.request_id == request.id, Message.kind == "request"))).scalar_one()
    assert first.trust == case.get("trust", "unverified")
    assert request.requester_rpps is None and (data.get("requester") or {}).get("rpps") is None
    if "claimed_rpps" in case:
        assert first.claimed_rpps == case["claimed_rpps"], first.claimed_rpps
    if "event" in case:
        assert request.event == case["event"]
    worker, employer = data.get("worker") or {}, data.get("employer") or {}
    for key, field in (("worker_family", "family_name"), ("worker_given", "given_names"),
                       ("birth_date", "birth_date")):
        if key in case:
            assert worker.get(field) == case[key], worker
    for key, field in (("employer_name", "name"), ("employer_town", "town")):
        if key in case:
            assert employer.get(field) == case[key], employer
    if "stoppage_start" in case:
        assert data["stoppage"]["start"] == case["stoppage_start"]
    if "stoppage_cause" in case:
        assert data["stoppage"]["cause"] == case["stoppage_cause"]
    if "consent" in case:
        assert (data.get("consent") is not None) is case["consent"]
    if "fhir" in case:
        assert data["extra"]["found"]["fhir_bundle"] is case["fhir"]
    if "subject" in case:
        async with hub.db.session() as session:
            subject = await hub.sealer.open_text(session, request.data_key_id, "requests", request.id, "subject",
                                                 request.subject_enc)
        assert case["subject"] in subject
    assert (await acks_for(hub, thread.id) == 1) is case["ack"]


async def check_attachments(hub: Hub, message: Message, expected: list[str]) -> None:
    async with hub.db.session() as session:
        rows = (await session.execute(select(Attachment).where(Attachment.message_id == message.id))).scalars().all()
        types = sorted(a.content_type for a in rows)
        for a in rows:  # stored encrypted, and they open
            content = await hub.sealer.open(session, a.data_key_id, "attachments", a.id, "content", a.content_enc)
            assert len(content) == a.size and content not in (a.content_enc,)
    assert types == sorted(expected)


@pytest.fixture
async def directory_hub(hub: Hub) -> Hub:
    """The hub with the example directory (routing needs it; no accounts: hashing passwords is slow)."""
    report = await import_directory(hub, EXAMPLE_DIRECTORY, progress=False)
    assert not report.errors
    return hub


@pytest.mark.parametrize("case", CASES, ids=[c["file"][:40] for c in CASES])
async def test_corpus_message(directory_hub: Hub, case: dict[str, Any]) -> None:
    demo_hub = directory_hub
    raw = (CORPUS / case["file"]).read_bytes()
    needs_seed = case["outcome"] == "message" or b"{{" in raw
    guichet = await start_guichet(demo_hub, roles=("smtp", "worker") if case.get("bounce_marks_ack") else ("smtp",))
    try:
        seed = await seed_thread(guichet, bool(case.get("bounce_marks_ack"))) if needs_seed else None
        if seed is not None:
            raw = raw.replace(b"{{TOKEN}}", (seed[0].reply_token or "").encode()).replace(
                b"{{ACK_ID}}", seed[1].encode())
        before = await email_requests(demo_hub)
        seed_messages = await message_bodies(demo_hub, seed[0].id) if seed else []
        from_header = next((line for line in raw.decode("utf-8", "replace").splitlines()
                            if line.lower().startswith("from:")), "From: x@y")
        mail_from = case.get("mail_from", parseaddr(from_header[5:])[1])
        rcpt = [guichet.address]
        if seed is not None and f"+{seed[0].reply_token}@".encode() in raw:
            rcpt = [f"guichet+{seed[0].reply_token}@spsti-test.fr"]
        if seed is not None and case.get("bounce_marks_ack"):  # reports come back to the ack's VERP return path
            async with demo_hub.db.session() as session:
                ack_row = (await session.execute(select(OutboxItem.id).where(
                    OutboxItem.thread_id == seed[0].id, OutboxItem.purpose == "ack"))).scalar_one()
            rcpt = [demo_hub.return_paths.address(ack_row)]
        code, answer = await guichet.send(raw, mail_from=mail_from, rcpt=rcpt)
        assert code == 250, answer
        after = await email_requests(demo_hub)
        new = [(r, t) for r, t in after if r.id not in {b[0].id for b in before}]
        if case["outcome"] == "request":
            assert len(new) == 1, answer
            request, thread = new[0]
            await check_request(demo_hub, case, request, thread)
            [(message, body)] = await message_bodies(demo_hub, thread.id)
        else:
            assert new == []
            if case["outcome"] == "dropped":
                if seed is not None:
                    assert len(await message_bodies(demo_hub, seed[0].id)) == len(seed_messages)
                return
            assert seed is not None
            messages = await message_bodies(demo_hub, seed[0].id)
            assert len(messages) == len(seed_messages) + 1
            message, body = messages[-1]
            assert message.kind == case["kind"] and message.direction == "in"
            assert await acks_for(demo_hub, seed[0].id) == 1  # only the seed's: nothing acknowledged again
            if case.get("bounce_marks_ack"):
                async with demo_hub.db.session() as session:
                    ack = (await session.execute(select(OutboxItem).where(
                        OutboxItem.thread_id == seed[0].id, OutboxItem.purpose == "ack"))).scalar_one()
                assert ack.status == "dead" and "5.2.2" in (ack.last_error or "")
        for fragment in case.get("body", []):
            assert fragment in body, body
        for fragment in case.get("body_not", []):
            assert fragment not in body, body
        await check_attachments(demo_hub, message, case.get("attachments", []))
        async with demo_hub.db.session() as session:
            stored = await demo_hub.sealer.open(session, message.data_key_id, "messages", message.id, "raw",
                                                message.raw_enc or b"")
        assert stored.replace(b"\r\n", b"\n").strip() == raw.replace(b"\r\n", b"\n").strip()
    finally:
        await guichet.stop()
