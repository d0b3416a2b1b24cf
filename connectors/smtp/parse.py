"""Turn the raw bytes of a real-world email into a :class:`ParsedMail` (text, attachments, FHIR Bundle).

Contract: ``parse_mail(raw)`` never raises. It reads with ``email.policy.default`` and copes with
multipart/alternative, HTML-only bodies (converted to text with BeautifulSoup), quoted-printable and base64,
ISO-8859-1 / Windows-1252 / UTF-8 charsets (a wrong or missing charset falls back to Windows-1252), RFC 2047
encoded headers, forwarded messages (``message/rfc822`` parts are inlined as text, their attachments kept),
PDF/image attachments and an attached FHIR Bundle (``application/fhir+json`` or ``*.json``). When the MIME
structure cannot be read, ``broken`` holds a French reason and the text is whatever could be salvaged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from typing import Any

from bs4 import BeautifulSoup

from hub.intake.drafts import AttachmentDraft

FALLBACK_CHARSET = "windows-1252"
FHIR_TYPES = ("application/fhir+json", "application/json+fhir")
MAX_TEXT = 200_000


@dataclass
class ParsedMail:
    """What intake needs from one message; header values are decoded (RFC 2047) strings."""

    subject: str = ""
    from_addr: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    date: str | None = None
    text: str = ""
    attachments: list[AttachmentDraft] = field(default_factory=list)
    fhir_bundle: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"
    report_type: str | None = None
    bounced_ids: list[str] = field(default_factory=list)
    broken: str | None = None
    auth_results: list[str] = field(default_factory=list)  # Authentication-Results values, topmost first

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


MSGID_RE = re.compile(r"<[^<>\s]+>")


def message_ids(value: str) -> list[str]:
    """The ``<id>`` tokens of a Message-ID / In-Reply-To / References header, in order."""
    return MSGID_RE.findall(value or "")


def html_to_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(["p", "div", "tr", "li", "h1", "h2", "h3", "h4", "blockquote"]):
        block.insert_after("\n")
    for cell in soup.find_all(["td", "th"]):
        cell.insert_after(" ")
    text = soup.get_text()
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _decode_payload(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return str(part.get_payload() or "")
    charset = (part.get_content_charset() or "").lower() or None
    if charset in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"):
        charset = FALLBACK_CHARSET  # senders often say latin-1 for cp1252 (€, curly quotes)
    for candidate in (charset, "utf-8", FALLBACK_CHARSET):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a malformed header must not stop the parse
        return ""
    return re.sub(r"\s+", " ", str(value)).strip() if value is not None else ""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001
        return None
    return str(name) if name else None


def _looks_like_bundle(data: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("resourceType") == "Bundle" else None


def _subparts(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


class _Walker:
    """Collect the body text (best alternative of each level) and the attachments, depth first."""

    def __init__(self, out: ParsedMail) -> None:
        self.out = out
        self.texts: list[str] = []

    def walk(self, part: Message, depth: int = 0) -> None:
        if depth > 20:
            return
        ctype = part.get_content_type()
        if ctype == "multipart/alternative":
            self._alternative(part, depth)
        elif ctype == "multipart/report":
            self.out.report_type = part.get_param("report-type") and str(part.get_param("report-type"))
            for sub in _subparts(part):
                self.walk(sub, depth + 1)
        elif part.is_multipart() and not ctype.startswith("message/"):
            for sub in _subparts(part):
                self.walk(sub, depth + 1)
        elif ctype == "message/rfc822":
            self._forwarded(part, depth)
        elif ctype in ("message/delivery-status", "text/rfc822-headers"):
            self._report_part(part)
        else:
            self._leaf(part)

    def _alternative(self, part: Message, depth: int) -> None:
        subs = _subparts(part)
        plain = [s for s in subs if s.get_content_type() == "text/plain"]
        html = [s for s in subs if s.get_content_type() == "text/html"]
        other = [s for s in subs if s.is_multipart()]
        if plain and _decode_payload(plain[0]).strip():
            self.texts.append(_decode_payload(plain[0]))
        elif html:
            self.texts.append(html_to_text(_decode_payload(html[0])))
        elif other:
            self.walk(other[-1], depth + 1)

    def _forwarded(self, part: Message, depth: int) -> None:
        inner = part.get_payload()
        inner_msg = inner[0] if isinstance(inner, list) and inner else None
        if not isinstance(inner_msg, Message):
            return
        if self.out.report_type:
            self.out.bounced_ids += message_ids(_header(inner_msg, "Message-ID"))
        header = (f"---------- Message transféré ----------\nDe : {_header(inner_msg, 'From')}\n"
                  f"Date : {_header(inner_msg, 'Date')}\nObjet : {_header(inner_msg, 'Subject')}\n")
        self.texts.append(header)
        self.walk(inner_msg, depth + 1)

    def _report_part(self, part: Message) -> None:
        raw, payload = part.get_payload(decode=True), part.get_payload()
        if isinstance(payload, list):  # message/delivery-status: blocks of fields
            body = "\n".join(block.as_string() for block in payload if isinstance(block, Message))
        else:
            body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
        if part.get_content_type() == "text/rfc822-headers":
            found = re.search(r"^Message-ID:\s*(<[^>]+>)", body, re.I | re.M)
            if found:
                self.out.bounced_ids.append(found.group(1))
        else:
            self.texts.append(body)

    def _leaf(self, part: Message) -> None:
        ctype, name = part.get_content_type(), _filename(part)
        disposition = (part.get_content_disposition() or "").lower()
        if ctype in FHIR_TYPES or (name or "").lower().endswith(".json") or ctype == "application/json":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                bundle = _looks_like_bundle(data)
                if bundle is not None and self.out.fhir_bundle is None:
                    self.out.fhir_bundle = bundle
                self.out.attachments.append(AttachmentDraft(name or "bundle.json", ctype, data))
            return
        if ctype.startswith("text/") and disposition != "attachment" and not name:
            text = _decode_payload(part)
            self.texts.append(html_to_text(text) if ctype == "text/html" else text)
            return
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data and not ctype.startswith("multipart/"):
            self.out.attachments.append(AttachmentDraft(name or _default_name(ctype), ctype, data))


def _default_name(ctype: str) -> str:
    ext = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(ctype, "bin")
    return f"piece-jointe.{ext}"


def _fill_headers(out: ParsedMail, msg: Message) -> None:
    for name in ("Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond", "List-Id", "List-Unsubscribe",
                 "Return-Path", "X-Failed-Recipients", "X-Loop"):
        value = _header(msg, name)
        if value:
            out.headers[name.lower()] = value
    try:
        out.auth_results = [str(v) for v in msg.get_all("Authentication-Results") or []]
    except Exception:  # noqa: BLE001 - unreadable: no authentication result is believed
        out.auth_results = []
    out.subject = _header(msg, "Subject")
    name, addr = parseaddr(_header(msg, "From"))
    out.from_name, out.from_addr = name.strip(), addr.strip().lower()
    out.to = [a.lower() for _, a in getaddresses([_header(msg, "To"), _header(msg, "Cc")]) if a]
    ids = message_ids(_header(msg, "Message-ID"))
    out.message_id = ids[0] if ids else None
    out.in_reply_to = message_ids(_header(msg, "In-Reply-To"))
    out.references = message_ids(_header(msg, "References"))
    out.date = _header(msg, "Date") or None
    out.content_type = msg.get_content_type()


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse ``raw`` (never raises; see the module docstring)."""
    out = ParsedMail()
    try:
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        _fill_headers(out, msg)
        defects = [d for d in msg.defects if type(d).__name__ in (
            "StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect", "MultipartInvariantViolationDefect",
            "NoBoundaryInMultipartDefect")]
        walker = _Walker(out)
        walker.walk(msg)
        texts = (t.replace("\r\n", "\n").replace("\r", "\n").strip("\n") for t in walker.texts)
        out.text = "\n".join(t for t in texts if t.strip())[:MAX_TEXT]
        if defects:
            out.broken = f"structure MIME invalide ({type(defects[0]).__name__})"
            if not out.text.strip():  # salvage the body as text so triage can read it
                body = raw.split(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[-1]
                out.text = body.decode("utf-8", "replace").replace("\r\n", "\n")[:MAX_TEXT]
        elif msg.is_multipart() and not out.text and not out.attachments:
            out.broken = "structure MIME illisible (aucune partie exploitable)"
    except Exception as exc:  # noqa: BLE001 - anything the email package chokes on
        out.broken = f"message illisible ({type(exc).__name__})"
        out.text = raw.decode("utf-8", "replace")[:MAX_TEXT]
    return out
