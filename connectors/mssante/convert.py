"""Convert a message read from the MSSanté mailbox into the hub's drafts (pure functions).

Contract:
- ``mss_headers(raw)``: the ``X-MSS-*`` headers, ``Disposition-Notification-To`` and ``Return-Path`` (names in
  lower case), read from the header block only.
- ``request_draft(mail, raw, headers, sender, today, limits)``: what the email channel makes of the message
  (``connectors.smtp.convert``), with channel and trust ``mssante``, the requester established from ``sender``
  (the directory entry of the authenticated ``From``: RPPS, role, name), a ``mssante:`` source key (sender +
  Message-ID), the ``XDM/1.0/DDM`` subject prefix hidden, and every ``IHE_XDM.ZIP`` opened: its documents added
  as attachments (the archive itself is kept: nothing lost), its patient used for the worker when the text named
  none (the INS only from the archive's metadata), its document types and author kept in ``extra["mssante"]``. An
  archive that cannot be opened adds its reason to ``triage_hint``.
- ``message_draft(...)``: a message on an existing thread, same channel/trust/key rules.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import date
from email import policy
from email.parser import BytesHeaderParser
from typing import TYPE_CHECKING, Any

from connectors.mssante.xdm import Xdm, XdmError, XdmLimits, read_xdm
from connectors.smtp import convert as email_convert
from connectors.smtp.parse import ParsedMail
from hub.intake.drafts import AttachmentDraft, MessageDraft, Person, RequestDraft, Requester

if TYPE_CHECKING:
    from hub.directory.service import KnownSender

XDM_PREFIX = re.compile(r"^\s*XDM/1\.0/DDM\+?\s*", re.I)
XDM_NAME = "IHE_XDM.ZIP"
AUTHOR_ROLES = {"reply": "Demandeur (MSSanté)", "auto-reply": "Réponse automatique",
                "receipt": "Accusé de lecture (MSSanté)", "bounce": "Opérateur MSSanté (non-remise)"}


def mss_headers(raw: bytes) -> dict[str, str]:
    try:
        head = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    except Exception:  # noqa: BLE001 - headers we cannot read are simply absent
        return {}
    wanted: dict[str, str] = {}
    for name, value in head.items():
        low = name.lower()
        if low.startswith("x-mss-") or low in ("disposition-notification-to", "return-path"):
            wanted[low] = re.sub(r"\s+", " ", str(value)).strip()[:500]
    return wanted


def source_key(mail: ParsedMail, raw: bytes) -> str:
    if mail.message_id:
        return "mssante:" + hashlib.sha256(f"{mail.from_addr.lower()}|{mail.message_id}".encode()).hexdigest()
    return "mssante:raw:" + hashlib.sha256(raw).hexdigest()


def _open_archives(attachments: list[AttachmentDraft], limits: XdmLimits) -> tuple[list[Xdm], list[str]]:
    found, problems = [], []
    for att in attachments:
        if att.filename.upper() == XDM_NAME or att.filename.upper().endswith("/" + XDM_NAME):
            try:
                found.append(read_xdm(att.content, limits))
            except XdmError as exc:
                problems.append(str(exc))
    return found, problems


def _worker(xdm: Xdm) -> Person | None:
    p = xdm.patient
    if not (p.family_name or p.ins):
        return None
    return Person(family_name=p.family_name, given_names=p.given_names, birth_date=p.birth_date, sex=p.sex,
                  ins=p.ins, ins_system=f"urn:oid:{p.ins_oid}" if p.ins and p.ins_oid else None)


def _xdm_summary(archives: list[Xdm]) -> list[dict[str, Any]]:
    return [{"author": x.author, "author_id": x.author_id, "ins": bool(x.patient.ins),
             "documents": [{"filename": d.filename, "type_code": d.type_code, "type_label": d.type_label,
                            "creation_time": d.creation_time, "title": d.title} for d in x.documents]}
            for x in archives]


def request_draft(mail: ParsedMail, raw: bytes, headers: dict[str, str], disposition: str,
                  sender: KnownSender | None, today: date, limits: XdmLimits) -> RequestDraft:
    mail = replace(mail, subject=XDM_PREFIX.sub("", mail.subject))
    archives, problems = _open_archives(mail.attachments, limits)
    envelope = headers.get("return-path", "").strip("<>") or mail.from_addr
    draft = email_convert.request_draft(mail, raw, disposition, envelope, sender, today, trust="mssante")
    draft.channel, draft.trust, draft.source_key = "mssante", "mssante", source_key(mail, raw)
    if sender is not None:  # authenticated by the trust space and found by that address: established
        draft.requester = Requester(kind=email_convert.ROLE_TO_KIND.get(sender.role, "other"),
                                    name=sender.display_name, email=mail.from_addr, rpps=sender.rpps)
        draft.claimed_rpps = None
    for archive in archives:
        draft.attachments += [AttachmentDraft(d.filename, d.content_type, d.content) for d in archive.documents]
        worker = _worker(archive)
        if worker is not None and draft.worker is None:
            draft.worker = worker
        elif worker is not None and draft.worker is not None and not draft.worker.ins and worker.ins:
            draft.worker.ins, draft.worker.ins_system = worker.ins, worker.ins_system
    if problems:
        draft.triage_hint = " ; ".join([*problems, *([draft.triage_hint] if draft.triage_hint else [])])
    draft.extra["mssante"] = {"headers": headers, "xdm": _xdm_summary(archives), "xdm_problems": problems}
    return draft


def message_draft(mail: ParsedMail, raw: bytes, thread_id: str, kind: str, body: str | None = None) -> MessageDraft:
    draft = email_convert.message_draft(mail, raw, thread_id, "normal", mail.from_addr)
    archives, problems = _open_archives(mail.attachments, XdmLimits())
    for archive in archives:
        draft.attachments += [AttachmentDraft(d.filename, d.content_type, d.content) for d in archive.documents]
    if problems:
        draft.body = "\n".join(f"[{p}]" for p in problems) + "\n\n" + draft.body
    draft.kind, draft.author_role = kind, AUTHOR_ROLES.get(kind, AUTHOR_ROLES["reply"])
    if body is not None:
        draft.body = body
    draft.channel, draft.trust, draft.source_key = "mssante", "mssante", source_key(mail, raw)
    return draft
