"""What the hub tells people by email, composed here (French), queued in the outbox, sent by a connector.

Contract (each method adds outbox rows to the caller's session; none sends anything itself):
- ``on_new_request(session, thread, request, draft, decision)``: acknowledgement to an email requester
  (reference, who handles it, what happens next — no health data beyond what they sent), confirmation to a form
  requester who gave an address, and a notification without health data to the recipient physician(s).
- ``on_new_message(session, request, message_id)``: the physician is told something new arrived.
- ``on_outbound(session, thread, request, message_id, kind, text)``: a physician's reply or question goes back
  through the channel the request came from (email: threaded reply from the guichet address).
Notifications carry a link and a reference, never clinical content.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.intake.drafts import RequestDraft
from hub.outbox import OutboundEmail
from hub.routing import Decision
from hub.store.models import Practitioner, Request, Thread, User

if TYPE_CHECKING:
    from hub.core import Hub


class Notices:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    @property
    def from_addr(self) -> str:
        return self.hub.settings.address

    def reply_address(self, thread: Thread) -> str:
        s = self.hub.settings
        return f"{s.address_local}+{thread.reply_token}@{s.address_domain}"

    async def on_new_request(self, session: AsyncSession, thread: Thread, request: Request, draft: RequestDraft,
                             decision: Decision) -> None:
        if draft.channel == "email" and draft.requester.email:
            await self._acknowledge(session, thread, request, draft, decision)
        await self._notify_recipients(session, thread, request)

    async def on_new_message(self, session: AsyncSession, request: Request, message_id: str) -> None:
        thread = await session.get(Thread, request.thread_id)
        if thread is not None:
            await self._notify_recipients(session, thread, request)

    async def on_outbound(self, session: AsyncSession, thread: Thread, request: Request, message_id: str,
                          kind: str, text: str, to: str | None, in_reply_to: str | None = None) -> None:
        """A physician's reply (``kind="reply"``) or question (``"info-request"``) to an email requester."""
        if thread.channel != "email" or not to:
            return
        s = self.hub.settings
        message_ref = f"<{message_id}@{s.address_domain}>"
        headers = {"Reply-To": self.reply_address(thread), "Message-ID": message_ref}
        if in_reply_to:
            headers["In-Reply-To"] = in_reply_to
            headers["References"] = in_reply_to
        label = "Réponse" if kind == "reply" else "Demande de précisions"
        self.hub.outbox.enqueue_email(session, kind, OutboundEmail(
            to=[to], subject=f"[{thread.reference}] {label}", text=text, from_addr=self.from_addr,
            headers=headers), thread_id=thread.id)

    async def _acknowledge(self, session: AsyncSession, thread: Thread, request: Request, draft: RequestDraft,
                           decision: Decision) -> None:
        who = "la coordination du guichet, qui l'orientera vers le bon médecin du travail"
        if decision.practitioner_id is not None:
            doctor = await session.get(Practitioner, decision.practitioner_id)
            if doctor is not None:
                who = doctor.display_name + ", médecin du travail"
        text = (f"Bonjour,\n\nNous avons bien reçu votre message. Référence : {thread.reference}.\n\n"
                f"Il sera traité par {who}. La réponse vous parviendra par courriel, dans ce même fil de "
                "discussion : répondez simplement à ce message pour compléter votre demande.\n\n"
                "Guichet unique santé au travail\n")
        headers = {"Reply-To": self.reply_address(thread), "Auto-Submitted": "auto-replied"}
        if draft.rfc822_id:
            headers["In-Reply-To"] = draft.rfc822_id
            headers["References"] = draft.rfc822_id
        assert draft.requester.email is not None
        self.hub.outbox.enqueue_email(session, "ack", OutboundEmail(
            to=[draft.requester.email], subject=f"[{thread.reference}] Accusé de réception", text=text,
            from_addr=self.from_addr, headers=headers), thread_id=thread.id)

    async def _notify_recipients(self, session: AsyncSession, thread: Thread, request: Request) -> None:
        if request.assigned_practitioner_id is None:
            return
        emails = (await session.execute(
            select(User.email).where(User.practitioner_id == request.assigned_practitioner_id,
                                     User.active.is_(True)))).scalars().all()
        link = f"{self.hub.settings.base_url}/inbox/threads/{thread.id}"
        for email in emails:
            self.hub.outbox.enqueue_email(session, "notify", OutboundEmail(
                to=[email], subject=f"[{thread.reference}] Nouveau message sur le guichet",
                text=("Bonjour,\n\nUn nouveau message vous attend sur le guichet unique (référence "
                      f"{thread.reference}).\n\nPour le lire : {link}\n\nCe courriel ne contient aucune "
                      "donnée de santé.\n"),
                from_addr=self.from_addr, headers={"Auto-Submitted": "auto-generated"}), thread_id=thread.id)
