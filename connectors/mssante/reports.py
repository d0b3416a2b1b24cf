"""Receipts (MDN, RFC 8098) and delivery status notifications (DSN, RFC 3464): read them, and write an MDN.

Contract:
- ``read_report(raw)`` → ``Report`` for a ``multipart/report`` of type ``disposition-notification`` or
  ``delivery-status`` (else ``None``): ``kind`` (``mdn``/``dsn``), ``failed`` (an MDN whose disposition carries
  an error or is ``deleted``/``denied``; a DSN with an ``Action: failed``), the Message-IDs of the original
  (``Original-Message-ID``, the returned headers' ``Message-ID``, ``In-Reply-To``), ``detail`` (the disposition,
  or the status and diagnostic) and a French ``summary`` for the thread.
- ``mdn_wanted(headers, from_addr)`` → the address an MDN goes to, only when ``Disposition-Notification-To`` is
  present and names the same mailbox as the return path (RFC 8098 §2.1), else ``None``.
- ``mdn_fields(...)``: the headers an MDN payload carries to the transport, which writes the
  ``multipart/report`` (``build_mdn``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import parseaddr

MDN_PREFIX = "X-Guichet-Mdn-"


@dataclass
class Report:
    kind: str
    failed: bool
    detail: str
    summary: str
    original_ids: list[str] = field(default_factory=list)


def _text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n".join(p.as_string() for p in payload if isinstance(p, Message))
    data = part.get_payload(decode=True)
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(payload)


def _field(text: str, name: str) -> str:
    found = re.search(rf"^{name}\s*:\s*(.+(?:\n[ \t].+)*)", text, re.I | re.M)
    return re.sub(r"\s+", " ", found.group(1)).strip() if found else ""


def read_report(raw: bytes) -> Report | None:
    try:
        msg = message_from_bytes(raw, policy=policy.compat32)
    except Exception:  # noqa: BLE001
        return None
    if msg.get_content_type() != "multipart/report":
        return None
    report_type = str(msg.get_param("report-type") or "").lower()
    ids = re.findall(r"<[^<>\s]+>", str(msg.get("In-Reply-To") or ""))
    body = ""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/disposition-notification", "message/delivery-status"):
            body = _text(part)
        elif ctype in ("text/rfc822-headers", "message/rfc822"):
            ids += re.findall(r"^Message-ID:\s*(<[^>]+>)", _text(part), re.I | re.M)
    if report_type == "disposition-notification":
        ids = re.findall(r"<[^<>\s]+>", _field(body, "Original-Message-ID")) + ids
        disposition = _field(body, "Disposition")
        kind_part = disposition.partition(";")[2].strip().lower()
        failed = "/error" in kind_part or kind_part.startswith(("deleted", "denied")) or "error" in body.lower() \
            and bool(_field(body, "Error"))
        summary = ("Accusé de traitement MSSanté : le destinataire signale une erreur (" + disposition + ")."
                   if failed else f"Accusé de lecture MSSanté reçu ({kind_part or disposition}).")
        return Report("mdn", failed, disposition[:300], summary, list(dict.fromkeys(ids)))
    if report_type == "delivery-status":
        actions = [a.lower() for a in re.findall(r"^Action\s*:\s*(\S+)", body, re.I | re.M)]
        failed = "failed" in actions
        detail = " ".join(x for x in (_field(body, "Status"), _field(body, "Diagnostic-Code")) if x)[:300]
        summary = (f"Non-remise signalée par l'opérateur MSSanté : {detail or 'échec'}." if failed else
                   f"Avis de remise MSSanté : {', '.join(actions) or 'remis'}.")
        return Report("dsn", failed, detail, summary, list(dict.fromkeys(ids)))
    return None


def mdn_wanted(headers: dict[str, str], from_addr: str) -> str | None:
    asked = parseaddr(headers.get("disposition-notification-to", ""))[1].lower()
    if not asked:
        return None
    return_path = parseaddr(headers.get("return-path", ""))[1].lower() or from_addr.lower()
    return asked if asked == return_path else None


def mdn_fields(original_id: str | None, final_recipient: str, failed: bool = False) -> dict[str, str]:
    disposition = "automatic-action/MDN-sent-automatically; " + (
        "processed/Error: 1^Erreur de traitement" if failed else "processed")
    fields = {f"{MDN_PREFIX}Disposition": disposition, f"{MDN_PREFIX}Final-Recipient": f"rfc822; {final_recipient}"}
    if original_id:
        fields[f"{MDN_PREFIX}Original-Message-ID"] = original_id
    return fields


def build_mdn(base: EmailMessage, headers: dict[str, str], human: str, reporting_ua: str) -> EmailMessage:
    """Turn ``base`` (From/To/Subject/Message-ID already set) into an RFC 8098 ``multipart/report``."""
    lines = [f"Reporting-UA: {reporting_ua}"]
    for name in ("Final-Recipient", "Original-Message-ID", "Disposition"):
        value = headers.get(f"{MDN_PREFIX}{name}")
        if value:
            lines.append(f"{name}: {value}")
    base.set_content(human, charset="utf-8")
    base.make_mixed()
    base.set_type("multipart/report")
    base.set_param("report-type", "disposition-notification")
    notification = EmailMessage()
    notification.set_content(("\r\n".join(lines) + "\r\n").encode("ascii", "replace"),
                             maintype="message", subtype="disposition-notification", cte="7bit")
    del notification["Content-Disposition"]
    base.attach(notification)
    return base
