"""Convert a parsed email into the hub's drafts. Pure functions: the handler does the look-ups.

Contract:
- ``source_key(mail, mail_from, raw)``: ``email:<sha256(sender|Message-ID)>``, or a hash of the raw bytes when
  the message has no Message-ID, so the same message delivered twice is stored once.
- ``request_draft(mail, raw, disposition, sender, today, trust)``: a ``RequestDraft`` for a new request, with
  what the text (or an attached FHIR Bundle) says; the requester is the directory's ``sender`` only when
  established (``established_sender``), else a quoted RPPS or a directory match is ``claimed_rpps`` (a
  suggestion); ``triage_hint`` says in French what is missing or wrong;
  ``acknowledge``/``notify`` are False for anything but normal mail, ``extra["found"]`` lists what was extracted.
- ``message_draft(mail, raw, thread_id, disposition)``: a ``MessageDraft`` for a thread (the quoted history
  of a reply is cut from the body; the raw message keeps it).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from typing import Any

from connectors.smtp import extract
from connectors.smtp.bundle import read_bundle
from connectors.smtp.parse import ParsedMail
from hub.bounces import printable
from hub.directory.service import KnownSender
from hub.intake.drafts import (
    ConsentStatement,
    EmployerRef,
    MessageDraft,
    Person,
    RequestDraft,
    Requester,
    WorkStoppage,
)

ROLE_TO_KIND = {"gp": "gp", "medecin_conseil": "medecin_conseil", "mdt": "mdt", "coordinator": "coordinator"}
AUTHOR_ROLES = {"reply": "Demandeur (courriel)", "auto-reply": "Réponse automatique",
                "bounce": "Serveur de messagerie (non-remise)"}
AUTO_HINT = "message automatique (réponse automatique, liste de diffusion ou sans adresse de retour)"
QUOTE_MARKERS = (
    r"^\s*Le .{5,200}(a écrit|wrote)\s*:\s*$",
    r"^\s*On .{5,200}wrote:\s*$",
    r"^\s*-{2,}\s*(Original Message|Message d'origine|Message d’origine)\s*-{2,}\s*$",
    r"^\s*_{10,}\s*$",
    r"^\s*De\s*:\s.+\n\s*(Envoyé|Date)\s*:",
    r"^\s*From:\s.+\n\s*(Sent|Date):",
)


def source_key(mail: ParsedMail, mail_from: str, raw: bytes) -> str:
    if mail.message_id:
        sender = (mail.from_addr or mail_from or "").lower()
        return "email:" + hashlib.sha256(f"{sender}|{mail.message_id}".encode()).hexdigest()
    return "email:raw:" + hashlib.sha256(raw).hexdigest()


def strip_quoted(text: str) -> str:
    """The new part of a reply: cut at the first "Le … a écrit :"-style marker, drop trailing ``>`` lines."""
    cut = len(text)
    for pattern in QUOTE_MARKERS:
        m = re.search(pattern, text, re.M)
        if m and m.start() < cut and text[:m.start()].strip():
            cut = m.start()
    lines = text[:cut].rstrip().splitlines()
    while lines and (lines[-1].startswith(">") or not lines[-1].strip()):
        lines.pop()
    return "\n".join(lines).strip() or text.strip()


def _requester(mail: ParsedMail, established: KnownSender | None, presumed: KnownSender | None,
               rpps: str | None) -> Requester:
    """Who wrote: the directory entry only when the sender is ``established`` (an authenticated address registered
    for that practitioner); otherwise what the message says, with no RPPS (a quoted one is a claim, see
    ``claimed_rpps``) and the role the directory suggests."""
    if established is not None:
        return Requester(kind=ROLE_TO_KIND.get(established.role, "other"), name=established.display_name,
                         email=mail.from_addr or established.email, rpps=established.rpps)
    kind = ROLE_TO_KIND.get(presumed.role, "other") if presumed is not None else ("gp" if rpps else "other")
    return Requester(kind=kind, name=mail.from_name or mail.from_addr, email=mail.from_addr or None)


def established_sender(mail: ParsedMail, sender: KnownSender | None, trust: str) -> KnownSender | None:
    """The directory entry the hub stands behind: the From address is the one registered for that practitioner
    and the mail is authenticated (``trust`` ``verified``). A quoted RPPS never establishes anyone."""
    if trust != "verified" or sender is None or not sender.email or not mail.from_addr:
        return None
    return sender if sender.email.lower() == mail.from_addr.lower() else None


def _hints(mail: ParsedMail, disposition: str, siret: str | None, employer: extract.EmployerFound,
           text: str, problems: list[str]) -> str | None:
    if mail.broken:
        return f"courriel illisible : {mail.broken}"
    if disposition != "normal":
        return AUTO_HINT
    if siret:
        return None
    parts = ["courriel sans SIRET d'employeur valide"]
    bad = extract.find_bad_sirets(text)
    if bad:
        parts = [f"SIRET {bad[0]} invalide (clé de contrôle)"]
    if employer.name:
        parts.append(f"employeur cité : {employer.name}" + (f" ({employer.town})" if employer.town else ""))
    parts += problems
    return " ; ".join(parts)


def request_draft(mail: ParsedMail, raw: bytes, disposition: str, mail_from: str, sender: KnownSender | None,
                  today: date, trust: str = "unverified") -> RequestDraft:
    text = mail.text
    bundle = read_bundle(mail.fhir_bundle) if mail.fhir_bundle is not None and not mail.broken else None
    readable = not mail.broken and disposition == "normal"
    siret = extract.find_siret(text) if readable else None
    employer = extract.find_employer(text) if readable else extract.EmployerFound()
    worker_found = extract.find_worker(text) if readable else extract.WorkerFound()
    rpps = extract.find_rpps(text) if not mail.broken else None
    if bundle is not None and bundle.requester_rpps:
        rpps = bundle.requester_rpps
    worker = None
    if worker_found.family_name or worker_found.birth_date:
        worker = Person(family_name=worker_found.family_name, given_names=worker_found.given_names,
                        birth_date=worker_found.birth_date, sex=worker_found.sex)
    employer_ref = EmployerRef(siret=siret, name=employer.name, town=employer.town) \
        if (siret or employer.name) else None
    start = extract.find_stoppage_start(text) if readable else None
    stoppage = WorkStoppage(start=start) if start else None
    consent = ConsentStatement(decision="permit", given_on=today, channel="email", declared_by="third-party") \
        if readable and extract.mentions_consent(text) else None
    event = extract.find_event(f"{mail.subject}\n{text}") if readable else "coordination-request"
    problems: list[str] = []
    if bundle is not None:
        problems = bundle.problems
        event = bundle.event or event
        worker = bundle.worker or worker
        if bundle.employer is not None and bundle.employer.siret:
            employer_ref, siret = bundle.employer, bundle.employer.siret
        stoppage = bundle.stoppage or stoppage
        consent = bundle.consent or consent
        text = "\n\n".join(t for t in (bundle.text, text) if t)
    established = established_sender(mail, sender, trust)
    requester = _requester(mail, established, sender, rpps)
    claimed = None if established is not None else (sender.rpps if sender is not None else rpps)
    found: dict[str, Any] = {"siret": siret, "employer_name": employer.name, "employer_town": employer.town,
                             "rpps": rpps, "sender_known": sender is not None,
                             "fhir_bundle": mail.fhir_bundle is not None}
    extra: dict[str, Any] = {"found": found, "disposition": disposition,
                             "email": {"from": mail.from_addr, "envelope_from": mail_from, "date": mail.date}}
    return RequestDraft(
        event=event, channel="email", source_key=source_key(mail, mail_from, raw), requester=requester,
        subject=mail.subject[:300], reason=text, worker=worker, employer=employer_ref, stoppage=stoppage,
        consent=consent, attachments=list(mail.attachments), raw=raw, raw_type="message/rfc822",
        rfc822_id=mail.message_id, triage_hint=_hints(mail, disposition, siret, employer, text, problems),
        trust=trust, claimed_rpps=claimed, acknowledge=disposition == "normal", notify=disposition == "normal",
        extra=extra)


def message_draft(mail: ParsedMail, raw: bytes, thread_id: str, disposition: str, mail_from: str,
                  trust: str = "unverified") -> MessageDraft:
    kind = {"auto": "auto-reply", "bounce": "bounce"}.get(disposition, "reply")
    body = strip_quoted(mail.text) if kind == "reply" else mail.text
    if mail.broken:
        body = f"[Courriel illisible : {mail.broken}]\n\n{body}"
    label = f"{mail.from_name} <{mail.from_addr}>" if mail.from_name else (mail.from_addr or mail_from)
    return MessageDraft(thread_id=thread_id, channel="email", source_key=source_key(mail, mail_from, raw),
                        author_label=label[:200], body=body, kind=kind, author_role=AUTHOR_ROLES[kind],
                        attachments=list(mail.attachments), raw=raw, rfc822_id=mail.message_id, trust=trust)


def diagnostic(text: str) -> str:
    """The most telling line of a delivery report (the ``Diagnostic-Code``, else the ``Status``)."""
    for marker in ("Diagnostic-Code:", "Status:"):
        for line in text.splitlines():
            if line.strip().lower().startswith(marker.lower()):
                return printable(line.strip())[:300]  # a report's words may carry terminal escapes
    return "non-remise signalée par le serveur destinataire"
