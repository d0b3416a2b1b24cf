"""The aiosmtpd handler: accepts mail for the guichet address, stores it through intake, then answers.

Contract (the protocol itself is aiosmtpd's ``SMTP``; this class only implements its hooks):
- ``handle_EHLO``: adds ``PIPELINING`` to what aiosmtpd announces (SIZE, 8BITMIME, SMTPUTF8, STARTTLS).
- ``handle_RCPT``: ``250`` for ``settings.address`` and for ``local+token@domain`` when the token is a thread's
  reply token; ``550 5.1.1`` for any other recipient (or an unknown token); ``451`` when storage is down.
- ``handle_DATA``: refuses a hostile shape before any work (``shape.refusal``: ``552``/``554`` with the reason, more
  than ``smtp_max_mime_parts`` parts or ``smtp_max_mime_depth`` levels), parses the message in a worker thread (the
  event loop keeps serving the other sessions and channels), reads its sender trust (``authres``), turns it into a
  ``MessageDraft`` (a reply: by ``+token`` recipient, or by In-Reply-To/References matching a stored Message-ID)
  or a ``RequestDraft`` (a new request), awaits ``hub.intake`` and answers ``250`` only once it is committed. Any
  storage error → ``451 4.3.0`` (the sender retries; nothing is lost). Our own messages are dropped (a loop); a
  delivery report is believed only when sent to the VERP return path of one outbound row (``hub.return_paths``):
  it goes to that row's thread and puts the row in dead letter; any other report is acknowledged and dropped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from connectors.smtp import authres, convert, shape
from connectors.smtp.loops import classify
from connectors.smtp.parse import ParsedMail, parse_mail
from hub import clock
from hub.audit import Actor
from hub.bounces import PREFIX as VERP_PREFIX
from hub.config import Settings
from hub.core import Hub
from hub.settings_check import integer

log = logging.getLogger(__name__)
OK_RCPT = "250 2.1.5 OK"
NO_SUCH_USER = "550 5.1.1 No such recipient here"
TEMPFAIL = "451 4.3.0 Temporary failure, please retry"


def mime_limits(settings: Settings) -> tuple[int, int]:
    """``smtp_max_mime_parts`` and ``smtp_max_mime_depth`` (guichet.toml), checked."""
    return (integer(settings.extra, "smtp_max_mime_parts", shape.MAX_PARTS, 1, 100_000),
            integer(settings.extra, "smtp_max_mime_depth", shape.MAX_DEPTH, 1, 100))


class IntakeHandler:
    """Hooks called by ``aiosmtpd.smtp.SMTP`` for each session."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.accepted = 0
        self.max_parts, self.max_depth = mime_limits(hub.settings)

    def _split(self, address: str) -> tuple[str, str | None] | None:
        """(local, token) when ``address`` is ours, else ``None``."""
        settings = self.hub.settings
        local, _, domain = address.lower().rpartition("@")
        if domain != settings.address_domain:
            return None
        if local == settings.address_local:
            return local, None
        base, plus, token = local.partition("+")
        if plus and base == settings.address_local and token:
            return base, token
        return None

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        """Also announce PIPELINING (RFC 2920): the protocol reads commands in order, so batches are safe."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        parts = self._split(address)
        if parts is None:
            return NO_SUCH_USER
        token = parts[1]
        if token is not None and token.startswith(VERP_PREFIX):  # a VERP return path (hub.bounces)
            if self.hub.return_paths.row_of(token) is None:
                return NO_SUCH_USER
        elif token is not None:
            try:
                if await self.hub.replies.by_reply_token(token) is None:
                    return NO_SUCH_USER
            except Exception:  # noqa: BLE001 - storage down
                log.exception("reply-token look-up failed")
                return TEMPFAIL
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return OK_RCPT

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(envelope.content, str) and not raw:
            raw = envelope.content.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        try:
            status = await self.store(raw, envelope.mail_from or "", list(envelope.rcpt_tos), peer)
        except Exception:  # noqa: BLE001 - storage (or anything) failed: the sender must retry
            log.exception("could not store a message (peer %s)", peer)  # never the sender: an identity
            return TEMPFAIL
        self.accepted += 1
        return status

    async def store(self, raw: bytes, mail_from: str, rcpt_tos: list[str], peer: str) -> str:
        """Commit the message (or decide to drop it) and return the 250 line; raises on storage errors."""
        refused = await asyncio.to_thread(shape.refusal, raw, self.max_parts, self.max_depth)
        if refused is not None:
            log.warning("refused a message of hostile MIME shape: %s", refused[:9])
            return refused
        mail = await asyncio.to_thread(parse_mail, raw)
        disposition = classify(mail, mail_from, self.hub.settings)
        if disposition == "own":
            log.warning("dropped a message from our own address or domain (mail loop): %s", mail.message_id)
            return "250 2.0.0 OK: ignored (sent by this guichet)"
        actor = Actor(f"email:{mail.from_addr or mail_from}"[:200], f"smtp:{peer}")
        verp = [row for row in (self.hub.return_paths.row_of((self._split(r) or ("", None))[1] or "")
                                for r in rcpt_tos) if row]
        if disposition == "bounce" or verp:
            return await self._bounce(mail, raw, mail_from, verp, actor)
        thread_id = await self._thread(mail, rcpt_tos, disposition)
        trust = authres.trust_of(mail, self.hub.settings.trusted_authserv_id)
        if thread_id is not None:
            result = await self.hub.intake.add_message(
                convert.message_draft(mail, raw, thread_id, disposition, mail_from, trust), actor)
            return f"250 2.0.0 OK: added to thread {result.thread_id}"
        rpps = None if mail.broken else convert.extract.find_rpps(mail.text)
        sender = await self.hub.directory.known_sender(mail.from_addr, rpps)
        draft = convert.request_draft(mail, raw, disposition, mail_from, sender, clock.today(), trust)
        submitted = await self.hub.intake.submit(draft, actor)
        return f"250 2.0.0 OK: {submitted.reference}"

    async def _thread(self, mail: ParsedMail, rcpt_tos: list[str], disposition: str) -> str | None:
        for rcpt in rcpt_tos:
            parts = self._split(rcpt)
            if parts is not None and parts[1] is not None:
                found = await self.hub.replies.by_reply_token(parts[1])
                if found is not None:
                    return found
        ids: list[Any] = list(mail.in_reply_to) + list(reversed(mail.references))
        if disposition == "bounce":
            ids = list(mail.bounced_ids) + ids
        return await self.hub.replies.by_message_ids(ids)

    async def _bounce(self, mail: ParsedMail, raw: bytes, mail_from: str, verp: list[str], actor: Actor) -> str:
        """Believed only at a VERP return path of ours (``hub.bounces``): else acknowledged and dropped."""
        thread_id = None
        for row_id in verp[:1]:
            thread_id = await self.hub.return_paths.believe(row_id, convert.diagnostic(mail.text))
        if thread_id is None:
            log.warning("dropped a delivery report not sent to a return path of ours: %s", mail.message_id)
            return "250 2.0.0 OK: delivery report ignored"
        await self.hub.intake.add_message(convert.message_draft(mail, raw, thread_id, "bounce", mail_from), actor)
        return "250 2.0.0 OK: delivery report recorded"
