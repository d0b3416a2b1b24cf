"""The IHE_XDM.ZIP reader: the sample built on the ANS public layout reads back; every limit refuses with a reason;
the MSSanté headers of an outgoing message carrying an archive; receipts and reports parsed."""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.mssante.config import MssanteConfig
from connectors.mssante.inbound import Inbound
from connectors.mssante.reports import mdn_wanted, read_report
from connectors.mssante.transport import build_mss_message
from connectors.mssante.xdm import XdmError, XdmLimits, read_xdm
from connectors.mssante.xdm_build import OutDocument, OutPatient, build_xdm
from hub.core import Hub
from hub.store.models import OutboxItem, Request
from tests.mssante_pki import BAL, Pki
from tests.mssante_support import GP_MSS, gp_message

PDF = b"%PDF-1.4\n%%EOF\n"
PATIENT = OutPatient(ins="180037512345678", ins_oid="1.2.250.1.213.1.4.8", family_name="MARTIN",
                     given_names="Paul", birth_date="19800312", sex="M")
AUTHOR = "10000000074^DUBOIS^Hélène^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^RPPS"


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_sample_reads_back() -> None:
    data = build_xdm([OutDocument(PDF, title="CR"), OutDocument(b"<ClinicalDocument/>", "text/xml", "34133-9",
                                                               "Synthèse", "Synthèse")], PATIENT, AUTHOR)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names[:3] == ["INDEX.HTM", "README.TXT", "IHE_XDM/SUBSET01/METADATA.XML"]
    xdm = read_xdm(data)
    assert xdm.patient.ins == "180037512345678" and xdm.patient.ins_oid == "1.2.250.1.213.1.4.8"
    assert (xdm.patient.family_name, xdm.patient.given_names) == ("MARTIN", "Paul")
    assert xdm.patient.birth_date == date(1980, 3, 12) and xdm.patient.sex == "male"
    assert xdm.author == "Hélène DUBOIS" and xdm.author_id == "10000000074"
    assert [(d.filename, d.content_type, d.type_code) for d in xdm.documents] == [
        ("DOC0001.PDF", "application/pdf", "11488-4"), ("DOC0002.XML", "text/xml", "34133-9")]
    assert xdm.documents[0].content == PDF and xdm.documents[0].creation_time
    assert xdm.type_codes == ["11488-4", "34133-9"]


@pytest.mark.parametrize(("files", "limits", "reason"), [
    ({"README.TXT": b"x"}, XdmLimits(), "sans IHE_XDM"),
    ({f"F{n}.TXT": b"x" for n in range(5)}, XdmLimits(max_entries=4), "trop de fichiers"),
    ({"A/B/C/D/E.TXT": b"x"}, XdmLimits(max_depth=4), "trop profonde"),
    ({"../ETC.TXT": b"x"}, XdmLimits(), "chemin refusé"),
    ({"BIG.TXT": b"0" * 5000}, XdmLimits(max_bytes=4000), "volumineuse"),
    ({"IHE_XDM/S1/METADATA.XML": b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>"}, XdmLimits(), "DTD"),
    ({"IHE_XDM/S1/METADATA.XML": b"<unclosed"}, XdmLimits(), "METADATA.XML illisible"),
    ({"IHE_XDM/S1/METADATA.XML": b"<r><ExtrinsicObject><Slot name='URI'><ValueList><Value>ABSENT.PDF</Value>"
      b"</ValueList></Slot></ExtrinsicObject></r>"}, XdmLimits(), "absent"),
])
def test_limits_refuse_with_a_reason(files: dict[str, bytes], limits: XdmLimits, reason: str) -> None:
    with pytest.raises(XdmError, match=reason):
        read_xdm(zipped(files), limits)


def test_not_a_zip_and_a_lying_size() -> None:
    with pytest.raises(XdmError, match="illisible"):
        read_xdm(b"PK\x03\x04 nope")
    with pytest.raises(XdmError, match="volumineuse"):
        read_xdm(b"0" * 100, XdmLimits(max_bytes=10))


def test_outgoing_headers_with_an_archive(hub: Hub, tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    settings = hub.settings.with_(extra={
        "mssante_address": BAL, "mssante_imap": "localhost:993", "mssante_smtp": "localhost:465",
        "mssante_cert": str(pki.client.cert), "mssante_key": str(pki.client.key), "mssante_ca": str(pki.ca.path),
        "mssante_nil": "NIL-42"})
    config = MssanteConfig.from_settings(settings)
    assert config is not None
    archive = build_xdm([OutDocument(PDF)], PATIENT, AUTHOR)
    payload: dict[str, Any] = {
        "to": ["dr@medecins.mssante.fr"], "subject": "CR", "text": "Ci-joint.", "from_addr": "x@y.fr",
        "headers": {"Message-ID": "<a@b>", "Reply-To": "guichet+t@spsti.fr"},
        "attachments": [{"filename": "IHE_XDM.ZIP", "content_type": "application/zip", "content": archive}]}
    msg = build_mss_message(payload, config)
    assert msg["From"] == BAL and msg["Reply-To"] is None and msg["X-MSS-NIL"] == "NIL-42"
    assert msg["X-MSS-CODECDA"] == "11488-4" and msg["X-MSS-INS"] == "O"
    no_ins = build_xdm([OutDocument(PDF)], OutPatient(family_name="X"), AUTHOR)
    payload["attachments"][0]["content"] = no_ins
    assert build_mss_message(payload, config)["X-MSS-INS"] == "N"
    payload["attachments"] = []
    payload["headers"] = {"X-Guichet-Mdn-Disposition": "automatic-action/MDN-sent-automatically; processed",
                          "X-Guichet-Mdn-Original-Message-ID": "<o@g>",
                          "X-Guichet-Mdn-Final-Recipient": f"rfc822; {BAL}"}
    mdn = message_from_bytes(build_mss_message(payload, config).as_bytes(), policy=policy.default)
    assert mdn.get_content_type() == "multipart/report"
    assert "X-Guichet" not in mdn.as_string()
    report = read_report(mdn.as_bytes())
    assert report is not None and report.kind == "mdn" and not report.failed and report.original_ids == ["<o@g>"]


def test_mdn_only_to_the_return_path() -> None:
    assert mdn_wanted({"disposition-notification-to": "a@x.fr", "return-path": "<a@x.fr>"}, "a@x.fr") == "a@x.fr"
    assert mdn_wanted({"disposition-notification-to": "other@x.fr", "return-path": "<a@x.fr>"}, "a@x.fr") is None
    assert mdn_wanted({}, "a@x.fr") is None


async def test_a_message_read_twice_is_stored_once_and_the_lease_is_exclusive(demo_hub: Hub, tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    settings = demo_hub.settings.with_(extra={
        "mssante_address": BAL, "mssante_imap": "localhost:993", "mssante_smtp": "localhost:465",
        "mssante_cert": str(pki.client.cert), "mssante_key": str(pki.client.key), "mssante_ca": str(pki.ca.path),
        "mssante_nil": "NIL-42"})
    config = MssanteConfig.from_settings(settings)
    assert config is not None
    mailbox = demo_hub.mailbox
    inbound = Inbound(demo_hub, config, mailbox)
    raw = gp_message("Bonjour, SIRET 44306184100047.", Disposition_Notification_To=GP_MSS)
    # the first reading committed, then the process died before flagging: the message is read again
    assert await inbound.handle(raw) == "request"
    assert await inbound.handle(raw) == "request"
    async with demo_hub.db.session() as session:
        requests = (await session.execute(select(func.count()).select_from(Request).where(
            Request.source_key.like("mssante:%")))).scalar_one()
        mdns = (await session.execute(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.purpose == "mdn", OutboxItem.kind == "mssante"))).scalar_one()
    assert (requests, mdns) == (1, 1)
    # the lease: one holder at a time, renewable, free again once released or expired
    assert await mailbox.acquire("bal", "a", 60) and not await mailbox.acquire("bal", "b", 60)
    assert await mailbox.acquire("bal", "a", 60)
    await mailbox.release("bal", "b")  # not b's: nothing happens
    assert not await mailbox.acquire("bal", "b", 60)
    await mailbox.release("bal", "a")
    assert await mailbox.acquire("bal", "b", 0.01)
    await asyncio.sleep(0.05)
    assert await mailbox.acquire("bal", "a", 60)
