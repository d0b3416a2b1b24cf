"""Mail-loop protection: which incoming messages must never be answered automatically.

Contract: ``classify(mail, mail_from, settings)`` returns ``"own"`` (sent by this guichet: From is our address
or the Message-ID is ours), ``"bounce"`` (a delivery report, MAILER-DAEMON, empty return path with a report),
``"auto"`` (``Auto-Submitted`` other than ``no``, ``Precedence: bulk/junk/list``, ``X-Autoreply``, a list
message, or an empty return path) or ``"normal"``. Only ``"normal"`` mail is acknowledged.
"""

from __future__ import annotations

import re

from connectors.smtp.parse import ParsedMail
from hub.config import Settings

DAEMON_RE = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.I)


def classify(mail: ParsedMail, mail_from: str, settings: Settings) -> str:
    envelope_empty = mail_from in ("", "<>")
    our_id = mail.message_id is not None and mail.message_id.rstrip(">").lower().endswith(
        "@" + settings.address_domain)
    if mail.from_addr == settings.address or our_id:
        return "own"
    if mail.report_type == "delivery-status" or mail.content_type == "multipart/report" or \
            DAEMON_RE.match(mail.from_addr) or (envelope_empty and mail.bounced_ids):
        return "bounce"
    auto = mail.header("auto-submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return "auto"
    if mail.header("precedence").lower() in ("bulk", "junk", "list", "auto_reply"):
        return "auto"
    if mail.header("x-autoreply") or mail.header("x-autorespond") or mail.header("list-id"):
        return "auto"
    if envelope_empty:
        return "auto"
    return "normal"
