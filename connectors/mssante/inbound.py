"""One message read from the MSSanté mailbox, handed to the hub: a new request, a message on its thread, or a
receipt / delivery report about something we sent.

Contract: ``await Inbound(hub, config, mailbox).handle(raw)`` returns a short outcome (``request``, ``message``,
``report``, ``own``, ``ignored``) once the hub has committed what the message became; it raises only when the hub
could not commit (the reader then leaves the message unflagged and reads it again; intake is idempotent on the
sender + Message-ID key). The sender is the MSSanté address in ``From`` (the trust space authenticated it), looked up
in the directory by that address (``practitioners.mssante``, else the directory email): that entry is the
established requester (RPPS, role, name), never an RPPS quoted in the text. An MDN is queued, after the commit,
when the sender asked for one (see ``reports.mdn_wanted``) and the message was new.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.mssante import convert, reports
from connectors.mssante.config import MssanteConfig
from connectors.mssante.xdm import XdmLimits
from connectors.smtp.loops import classify
from connectors.smtp.parse import ParsedMail, parse_mail
from hub import clock
from hub.audit import Actor
from hub.outbox import OutboundEmail

if TYPE_CHECKING:
    from hub.core import Hub
    from hub.mailbox import MailboxService


class Inbound:
    def __init__(self, hub: Hub, config: MssanteConfig, mailbox: MailboxService) -> None:
        self.hub = hub
        self.config = config
        self.mailbox = mailbox
        self.limits = XdmLimits(config.xdm_max_bytes, config.xdm_max_entries, config.xdm_max_depth)
        self.settings = hub.settings.with_(address=config.address)  # "our own mail" means the BAL's

    async def handle(self, raw: bytes) -> str:
        mail = parse_mail(raw)
        headers = convert.mss_headers(raw)
        actor = Actor(f"mssante:{mail.from_addr}"[:200], "mssante:imap")
        report = reports.read_report(raw)
        if report is not None:
            return await self._report(mail, raw, report, actor)
        envelope = headers.get("return-path", "").strip("<>") or mail.from_addr
        disposition = classify(mail, envelope, self.settings)
        if disposition == "own" or mail.from_addr == self.hub.settings.address:
            return "own"
        ids = list(mail.in_reply_to) + list(reversed(mail.references))
        thread_id = await self.hub.replies.by_message_ids(ids)
        if thread_id is not None:
            kind = "auto-reply" if disposition == "auto" else "reply"
            result = await self.hub.intake.add_message(convert.message_draft(mail, raw, thread_id, kind), actor)
            created, outcome = result.created, "message"
        else:
            sender = await self.hub.directory.mssante_sender(mail.from_addr) if mail.from_addr else None
            draft = convert.request_draft(mail, raw, headers, disposition, sender, clock.today(), self.limits)
            submitted = await self.hub.intake.submit(draft, actor)
            thread_id, created, outcome = submitted.thread_id, submitted.created, "request"
        to = reports.mdn_wanted(headers, mail.from_addr)
        if to and created and disposition == "normal":
            await self._queue_mdn(mail, to, thread_id)
        return outcome

    async def _report(self, mail: ParsedMail, raw: bytes, report: reports.Report, actor: Actor) -> str:
        thread_id = await self.hub.replies.by_message_ids(report.original_ids)
        if thread_id is None:
            return "ignored"
        kind = "bounce" if report.failed or report.kind == "dsn" else "receipt"
        # the outgoing row first, then the message the physician sees: once it shows, the status is right
        await self.mailbox.delivery_report(thread_id, report.original_ids, report.failed, report.detail)
        draft = convert.message_draft(mail, raw, thread_id, kind, body=report.summary)
        await self.hub.intake.add_message(draft, actor)
        return "report"

    async def _queue_mdn(self, mail: ParsedMail, to: str, thread_id: str) -> None:
        text = ("Votre message a été reçu et enregistré par le guichet unique santé au travail. Cet accusé de "
                "traitement ne reprend aucune information médicale.\n")
        headers = {"Auto-Submitted": "auto-replied",
                   **reports.mdn_fields(mail.message_id, self.config.address)}
        if mail.message_id:
            headers["In-Reply-To"] = headers["References"] = mail.message_id
        await self.mailbox.queue("mssante", "mdn", OutboundEmail(
            to=[to], subject="Accusé de traitement", text=text, from_addr=self.config.address, headers=headers),
            thread_id)
