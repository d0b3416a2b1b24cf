"""The MSSanté mailbox, end to end with real servers: Dovecot (IMAPS, client-certificate login) as the operator's
IMAP, an aiosmtpd submission port requiring a client certificate, both under a test CA made here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.mssante import connector
from connectors.mssante.reports import read_report
from connectors.mssante.xdm_build import OutDocument, OutPatient, build_xdm
from hub.core import Hub
from hub.server import Server
from hub.store.models import Attachment, Message, OutboxItem, Request, Thread, new_id
from tests.conftest import wait_until
from tests.mssante_dovecot import Dovecot, available
from tests.mssante_pki import BAL, Pki
from tests.mssante_support import GP_MSS, PDF, Submission, gp_message, mss_settings, register_gp_mailbox
from tests.test_smtp_support import message_bodies, payload

pytestmark = pytest.mark.skipif(not available(), reason="needs /usr/sbin/dovecot (dovecot-imapd) and root")
BODY = ("Bonjour,\nje vous adresse M. Martin Paul, né le 12/03/1980, cariste chez Transports Dupuis "
        "(SIRET 44306184100047), en arrêt depuis le 02/09/2024. Une visite de pré-reprise est souhaitée.\n"
        "Dr Hélène Dubois, RPPS 10000000074\n")


@pytest.fixture
async def operator(tmp_path: Path) -> AsyncIterator[tuple[Pki, Dovecot, Submission]]:
    pki = Pki(tmp_path / "pki")
    dovecot = await asyncio.to_thread(Dovecot(pki).start)
    submission = Submission(pki, dsn=True)
    await submission.start()
    try:
        yield pki, dovecot, submission
    finally:
        await submission.stop()
        await asyncio.to_thread(dovecot.stop)


async def mss_requests(hub: Hub) -> list[tuple[Request, Thread]]:
    async with hub.db.session() as session:
        return [(r, t) for r, t in (await session.execute(
            select(Request, Thread).join(Thread, Thread.id == Request.thread_id)
            .where(Request.source_key.like("mssante:%")))).all()]


async def start(hub: Hub, roles: tuple[str, ...] = ("mssante", "worker")) -> Server:
    server = Server(hub, [connector()], roles)
    await server.start()
    return server


def parsed(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


async def test_gp_message_with_pdf_becomes_a_request_answered_by_mssante(
        demo_hub: Hub, operator: tuple[Pki, Dovecot, Submission]) -> None:
    pki, dovecot, submission = operator
    demo_hub.settings = mss_settings(demo_hub.settings, pki, dovecot, submission.port)
    await register_gp_mailbox(demo_hub)
    raw = gp_message(BODY, attachments=[("compte-rendu.pdf", "application/pdf", PDF)],
                     Disposition_Notification_To=GP_MSS)
    gp_id = parsed(raw)["Message-ID"]
    dovecot.deliver(raw)
    server = await start(demo_hub)
    try:
        await wait_until(lambda: _count(demo_hub, 1), timeout=20)
        [(request, thread)] = await mss_requests(demo_hub)
        assert thread.channel == "mssante"
        data = await payload(demo_hub, request)
        assert data["trust"] == "mssante" and data["channel"] == "mssante"
        assert data["requester"]["rpps"] == "10000000074" and data["requester"]["kind"] == "gp"
        async with demo_hub.db.session() as session:
            atts = (await session.execute(select(Attachment).join(Message, Message.id == Attachment.message_id)
                                          .where(Message.thread_id == thread.id))).scalars().all()
        assert [a.content_type for a in atts] == ["application/pdf"] and atts[0].size == len(PDF)
        # flagged processed on the server only after the commit: \Seen plus our keyword
        await wait_until(lambda: _flagged(dovecot, 1), timeout=10)
        await wait_until(lambda: _keyword_listed(dovecot), timeout=10)  # Dovecot writes its keyword file apart
        # the acknowledgement and the MDN leave by MSSanté submission with the BAL's certificate
        await wait_until(lambda: _arrived(submission, 2), timeout=20)
        assert set(submission.handler.peers) == {BAL}
        sent = {parsed(m.raw).get_content_type(): parsed(m.raw) for m in submission.handler.messages}
        ack, mdn = sent["text/plain"], sent["multipart/report"]
        assert ack["From"] == BAL and ack["X-MSS-NIL"] == "NIL-TEST-0001" and ack["Reply-To"] is None
        assert ack["In-Reply-To"] == gp_id and thread.reference in ack["Subject"]
        assert mdn.get_param("report-type") == "disposition-notification" and mdn["To"] == GP_MSS
        [mdn_raw] = [m.raw for m in submission.handler.messages if b"multipart/report" in m.raw]
        report = read_report(mdn_raw)
        assert report is not None and report.kind == "mdn" and not report.failed
        assert report.original_ids == [gp_id] and report.detail.endswith("; processed")
        assert b"Martin" not in mdn_raw and "Martin" not in ack.as_string()  # no health data in receipts
        # the physician's answer leaves by MSSanté, threaded, with X-MSS-NIL
        async with demo_hub.db.session() as session, session.begin():
            row = await session.get(Thread, thread.id)
            req = await session.get(Request, request.id)
            assert row is not None and req is not None
            await demo_hub.notices.on_outbound(session, row, req, new_id(), "reply", "Je le reçois mardi.")
        await wait_until(lambda: _arrived(submission, 3), timeout=20)
        reply = parsed(submission.handler.messages[-1].raw)
        assert reply["To"] == GP_MSS and reply["From"] == BAL and reply["X-MSS-NIL"] == "NIL-TEST-0001"
        assert reply["In-Reply-To"] == gp_id and gp_id in reply["References"] and reply["Reply-To"] is None
        assert reply["X-MSS-CODECDA"] is None  # no XDM attached
        assert {"RET=HDRS", "NOTIFY=FAILURE,DELAY"} <= set(submission.handler.dsn_params)  # DSN asked for
        # the GP answers in the same thread (her client threads on our Message-ID): no new request
        dovecot.deliver(gp_message("Merci, mardi me convient.", subject=f"Re: {reply['Subject']}",
                                   In_Reply_To=reply["Message-ID"], References=f"{gp_id} {reply['Message-ID']}"))
        await wait_until(lambda: _kinds(demo_hub, thread.id, "reply"), timeout=20)
        assert len(await mss_requests(demo_hub)) == 1
        answers = [(m.channel, b) for m, b in await message_bodies(demo_hub, thread.id) if m.kind == "reply"]
        assert answers == [("mssante", "Merci, mardi me convient.")]
        # the GP's client sends a read receipt back: it shows in the thread
        dovecot.deliver(_mdn_from_gp(reply["Message-ID"]))
        await wait_until(lambda: _kinds(demo_hub, thread.id, "receipt"), timeout=20)
        # a delivery failure of our reply comes back: the outgoing row goes to dead letter, the thread says so
        dovecot.deliver(_dsn(reply["Message-ID"]))
        await wait_until(lambda: _kinds(demo_hub, thread.id, "bounce"), timeout=20)
        async with demo_hub.db.session() as session:
            rows = (await session.execute(select(OutboxItem).where(OutboxItem.thread_id == thread.id,
                                                                   OutboxItem.purpose == "reply"))).scalars().all()
        assert [(r.kind, r.status) for r in rows] == [("mssante", "dead")]
        assert "5.1.1" in (rows[0].last_error or "")
        bodies = [b for m, b in await message_bodies(demo_hub, thread.id) if m.kind == "bounce"]
        assert bodies and "Non-remise" in bodies[0]
    finally:
        await server.stop()


def _mdn_from_gp(original_id: str) -> bytes:
    return (f"From: {GP_MSS}\r\nTo: {BAL}\r\nSubject: Lu\r\nMessage-ID: <mdn-1@medecins-demo.fr>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=disposition-notification; "
            "boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nMessage lu.\r\n--b1\r\n"
            "Content-Type: message/disposition-notification\r\n\r\nReporting-UA: cabinet; Logiciel\r\n"
            f"Final-Recipient: rfc822; {GP_MSS}\r\nOriginal-Message-ID: {original_id}\r\n"
            "Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n--b1--\r\n").encode()


def _dsn(original_id: str) -> bytes:
    return (f"From: MAILER-DAEMON@operateur.mssante.fr\r\nTo: {BAL}\r\nSubject: Undelivered\r\n"
            "Message-ID: <dsn-1@operateur.mssante.fr>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b2\"\r\n\r\n"
            "--b2\r\nContent-Type: text/plain\r\n\r\nVotre message n'a pas pu etre remis.\r\n--b2\r\n"
            "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; operateur.mssante.fr\r\n\r\n"
            f"Final-Recipient: rfc822; {GP_MSS}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 boite inconnue\r\n\r\n--b2\r\n"
            f"Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: {original_id}\r\nSubject: x\r\n\r\n--b2--\r\n"
            ).encode()


async def _count(hub: Hub, n: int) -> bool:
    return len(await mss_requests(hub)) >= n


async def _flagged(dovecot: Dovecot, n: int) -> bool:
    flags = await asyncio.to_thread(dovecot.flags)
    return len([f for f in flags if "S" in f]) >= n


async def _keyword_listed(dovecot: Dovecot) -> bool:
    return "$GuichetTraite" in await asyncio.to_thread(dovecot.keywords)


async def _arrived(submission: Submission, n: int) -> bool:
    return len(submission.handler.messages) >= n


async def _kinds(hub: Hub, thread_id: str, kind: str) -> bool:
    async with hub.db.session() as session:
        return bool((await session.execute(select(Message.id).where(
            Message.thread_id == thread_id, Message.kind == kind))).first())


async def test_xdm_archive_is_opened_and_its_documents_stored(
        demo_hub: Hub, operator: tuple[Pki, Dovecot, Submission]) -> None:
    pki, dovecot, submission = operator
    demo_hub.settings = mss_settings(demo_hub.settings, pki, dovecot, submission.port)
    archive = build_xdm([OutDocument(PDF, title="Compte rendu")],
                        OutPatient(ins="180037512345678", ins_oid="1.2.250.1.213.1.4.10", family_name="MARTIN",
                                   given_names="Paul", birth_date="19800312", sex="M"),
                        author="10000000074^DUBOIS^Hélène^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^RPPS")
    dovecot.deliver(gp_message("Bonjour, compte rendu ci-joint pour la reprise.",
                               subject="XDM/1.0/DDM+Compte rendu",
                               attachments=[("IHE_XDM.ZIP", "application/zip", archive)]))
    broken = gp_message("Bonjour, voici l'archive.", attachments=[("IHE_XDM.ZIP", "application/zip",
                                                                   b"PK\x03\x04 not a zip")])
    dovecot.deliver(broken)
    server = await start(demo_hub, ("mssante",))
    try:
        await wait_until(lambda: _count(demo_hub, 2), timeout=20)
    finally:
        await server.stop()
    by_subject = {}
    for request, thread in await mss_requests(demo_hub):
        data = await payload(demo_hub, request)
        by_subject[data["subject"]] = (request, thread, data)
    request, thread, data = by_subject["Compte rendu"]  # the XDM prefix is hidden
    assert data["worker"]["ins"] == "180037512345678" and data["worker"]["family_name"] == "MARTIN"
    [summary] = data["extra"]["mssante"]["xdm"]
    assert summary["documents"][0]["type_code"] == "11488-4" and summary["ins"] is True
    async with demo_hub.db.session() as session:
        types = sorted((await session.execute(
            select(Attachment.content_type).join(Message, Message.id == Attachment.message_id)
            .where(Message.thread_id == thread.id))).scalars().all())
    assert types == ["application/pdf", "application/zip"]  # the document, and the archive kept as received
    request, _, data = by_subject["Demande d'avis - reprise"]
    assert request.in_triage and "IHE_XDM.ZIP illisible" in (request.triage_reason or "") + \
        str(data["triage_hint"])
