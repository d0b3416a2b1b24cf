"""What the hub tells people by email, composed here (French), queued in the outbox, sent by a connector.

Contract (each method adds outbox rows to the caller's session; none sends anything itself):
- ``on_new_request(session, thread, request, draft, decision, follow_up_token=None)``: acknowledgement to an
  email requester (reference, who handles it — physician and team, or the triage desk, for an authenticated
  sender (trust ``mssante`` or ``verified``), else only "l'équipe de santé au travail compétente" —, what
  happens next; no health data: the worker's name and the text are never echoed), confirmation to a form
  requester who gave an address (reference, private follow-up link ``/suivi/{reference}?t=…`` — the token exists
  in clear only inside the intake transaction, so it is composed here, in that transaction —, next steps), and a
  notification without health data to the people the request was routed to. ``draft.acknowledge=False`` (auto
  replies, bounces, lists: mail loops) suppresses the acknowledgement or confirmation, ``draft.notify=False`` the
  notification.
- ``on_new_message(session, request, message_id)``: the recipients are told something new arrived (not for
  automatic replies).
- ``on_outbound(session, thread, request, message_id, kind, text, to=None, in_reply_to=None)``: a physician's
  reply (``kind="reply"``) or question (``"info-request"``) goes back to an email (or MSSanté: outbox kind
  ``mssante``, see ``outbound_kind``) requester from the guichet
  address, ``Reply-To`` the thread's reply address, ``In-Reply-To``/``References`` the requester's last message
  (found in the thread when not given), so their client threads it and their answer lands in the same thread.
  ``to`` defaults to the requester's address stored (encrypted) with the request.
Every email we send gets a Message-ID recorded as a ``ThreadAlias``, so answers to it find their thread.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import Actor, AuditLog
from hub.config import Settings
from hub.followup import EVENT_FR, next_steps
from hub.inbox.authorship import COORDINATION, authored
from hub.intake.drafts import RequestDraft
from hub.outbox import ConsentTag, OutboundEmail, Outbox
from hub.routing import Decision
from hub.store.models import Message, Practitioner, Request, Team, Thread, ThreadAlias, User, new_id
from hub.store.sealing import Sealer

SIGNATURE = "Guichet unique santé au travail"
AUTHENTICATED_SENDERS = ("mssante", "verified")  # trust levels whose acknowledgement may name the recipient
NEUTRAL_HANDLER = "l'équipe de santé au travail compétente"
QUIET_KINDS = ("auto-reply", "receipt")  # a read receipt is shown in the thread, not announced


def confirmation_text(reference: str, event: str, requester_kind: str, link: str) -> str:
    """The form confirmation: kind of request, reference, private link, next steps; no health data, no name."""
    steps = "\n".join(f"- {s}" for s in next_steps(event, requester_kind))
    return (f"Bonjour,\n\nNous avons bien reçu votre demande : {EVENT_FR.get(event, 'demande')}.\n"
            f"Référence : {reference}\n\n"
            f"Pour suivre son avancement, utilisez ce lien personnel (ne le transmettez pas) :\n{link}\n\n"
            f"La suite :\n{steps}\n\n"
            "Ce courriel ne contient aucune donnée de santé. Si vous n'êtes pas à l'origine de cette demande, "
            f"ignorez-le.\n\n{SIGNATURE}\n")


def follow_up_path(reference: str, token: str) -> str:
    return f"/suivi/{quote(reference)}?t={quote(token)}"


class Notices:
    def __init__(self, settings: Settings, outbox: Outbox, sealer: Sealer, audit: AuditLog) -> None:
        self.settings, self.outbox, self.sealer, self.audit = settings, outbox, sealer, audit

    @property
    def from_addr(self) -> str:
        return self.settings.address

    def reply_address(self, thread: Thread) -> str:
        s = self.settings
        return f"{s.address_local}+{thread.reply_token}@{s.address_domain}"

    def _message_id(self, session: AsyncSession, thread: Thread, local: str) -> str:
        ref = f"<{local}@{self.settings.address_domain}>"
        session.add(ThreadAlias(rfc822_id=ref, thread_id=thread.id))
        return ref

    @staticmethod
    def outbound_kind(thread: Thread) -> str:
        """The outbox transport that carries what goes back to a thread's requester: ``mssante`` for a request
        that came in by MSSanté (a reply leaves by the channel it came by), else ``email``. The seam where the
        clinical-route decision (MSSanté or secure pickup, issue 12) plugs in."""
        return "mssante" if thread.channel == "mssante" else "email"

    # -- new requests ---------------------------------------------------------------------------------
    async def on_new_request(self, session: AsyncSession, thread: Thread, request: Request, draft: RequestDraft,
                             decision: Decision, follow_up_token: str | None = None) -> None:
        if draft.requester.email and draft.acknowledge:
            if draft.channel in ("email", "mssante"):
                await self._acknowledge(session, thread, draft, decision)
            elif draft.channel == "form" and follow_up_token:
                self._confirm_form(session, thread, draft, follow_up_token)
        if draft.notify:
            await self._notify_recipients(session, thread, request, new_request=True)

    async def handled_by(self, session: AsyncSession, decision: Decision) -> str:
        """French words for who will handle a request: "Dr X, médecin du travail (équipe Y)"."""
        team = await session.get(Team, decision.team_id) if decision.team_id is not None else None
        if decision.practitioner_id is not None:
            doctor = await session.get(Practitioner, decision.practitioner_id)
            if doctor is not None:
                return f"{doctor.display_name}, médecin du travail" + (f" ({team.name})" if team else "")
        if team is not None and team.kind != "triage":
            return f"l'{team.name}" if team.name[:1] in "AEÉIOU" else f"l'équipe « {team.name} »"
        return "la coordination du guichet, qui l'orientera vers le médecin du travail compétent"

    async def _acknowledge(self, session: AsyncSession, thread: Thread, draft: RequestDraft,
                           decision: Decision) -> None:
        # whoever can forge a From: line must not learn which physician or team follows a worker
        who = (await self.handled_by(session, decision) if draft.trust in AUTHENTICATED_SENDERS
               else NEUTRAL_HANDLER)
        text = (f"Bonjour,\n\nNous avons bien reçu votre message. Référence : {thread.reference}.\n\n"
                f"Il sera traité par {who}.\n\n"
                "La suite : la réponse vous parviendra par courriel, dans ce même fil de discussion. Pour "
                "compléter votre demande (document, précision), répondez simplement à ce message en rappelant "
                "la référence si vous écrivez séparément.\n\n"
                "Ce message est un accusé de réception automatique ; il ne reprend volontairement aucune "
                f"information médicale.\n\n{SIGNATURE}\n")
        headers = {"Reply-To": self.reply_address(thread), "Auto-Submitted": "auto-replied",
                   "Message-ID": self._message_id(session, thread, f"ack.{new_id()}")}
        if draft.rfc822_id:
            headers["In-Reply-To"] = draft.rfc822_id
            headers["References"] = draft.rfc822_id
        assert draft.requester.email is not None
        self.outbox.enqueue_email(session, "ack", OutboundEmail(
            to=[draft.requester.email], subject=f"[{thread.reference}] Accusé de réception", text=text,
            from_addr=self.from_addr, headers=headers), thread_id=thread.id, kind=self.outbound_kind(thread))

    def _confirm_form(self, session: AsyncSession, thread: Thread, draft: RequestDraft, token: str) -> None:
        assert draft.requester.email is not None
        link = f"{self.settings.base_url}{follow_up_path(thread.reference, token)}"
        text = confirmation_text(thread.reference, draft.event, draft.requester.kind, link)
        headers = {"Auto-Submitted": "auto-generated",
                   "Message-ID": self._message_id(session, thread, f"confirm.{new_id()}")}
        self.outbox.enqueue_email(session, "confirmation", OutboundEmail(
            to=[draft.requester.email], subject=f"[{thread.reference}] Votre demande a bien été reçue", text=text,
            from_addr=self.from_addr, headers=headers), thread_id=thread.id)

    # -- new messages on a thread ---------------------------------------------------------------------
    async def on_new_message(self, session: AsyncSession, request: Request, message_id: str) -> None:
        kind = (await session.execute(select(Message.kind).where(Message.id == message_id))).scalar_one_or_none()
        if kind in QUIET_KINDS:
            return
        thread = await session.get(Thread, request.thread_id)
        if thread is not None:
            await self._notify_recipients(session, thread, request, new_request=False)

    # -- physician → requester ------------------------------------------------------------------------
    async def on_outbound(self, session: AsyncSession, thread: Thread, request: Request, message_id: str,
                          kind: str, text: str, to: str | None = None, in_reply_to: str | None = None,
                          transport: str | None = None, author: str | None = None,
                          consent: ConsentTag | None = None) -> None:
        """A reply (``kind="reply"``) or question (``"info-request"``) to an email requester, signed by ``author``
        (``hub.inbox.authorship``: who wrote it and in what role). ``consent``: the purpose it serves, checked
        again when the row leaves (``hub.outbox.Outbox.guard``).

        ``transport`` is the outbox row's kind (``email``, or ``mssante`` when ``hub.trust.answers`` chose it;
        by default ``outbound_kind(thread)``); a caller that names ``to`` has decided the route, else only email
        and MSSanté threads get one."""
        if thread.channel not in ("email", "mssante") and to is None:
            return
        if not to:
            to = await self._requester_email(session, request)
        if not to:
            return
        inbound = [i for i in (await session.execute(
            select(Message.rfc822_id).where(Message.thread_id == thread.id, Message.direction == "in",
                                            Message.rfc822_id.is_not(None))
            .order_by(Message.created_at))).scalars().all() if i]
        in_reply_to = in_reply_to or (inbound[-1] if inbound else None)
        references = list(dict.fromkeys([*inbound[:1], *([in_reply_to] if in_reply_to else [])]))
        headers = {"Reply-To": self.reply_address(thread),
                   "Message-ID": self._message_id(session, thread, message_id)}
        if in_reply_to:
            headers["In-Reply-To"] = in_reply_to
            headers["References"] = " ".join(references)
        label = authored(kind, author or COORDINATION)
        body = (f"{text.rstrip()}\n\n-- \n{label}.\nRéférence : {thread.reference}. Pour répondre, utilisez "
                "simplement la fonction « Répondre » de votre messagerie : votre réponse sera rattachée à ce dossier.\n"
                f"{SIGNATURE}\n")
        self.outbox.enqueue_email(session, kind, OutboundEmail(
            to=[to], subject=f"[{thread.reference}] {label}", text=body, from_addr=self.from_addr,
            headers=headers), thread_id=thread.id, kind=transport or self.outbound_kind(thread), consent=consent)

    async def _requester_email(self, session: AsyncSession, request: Request) -> str | None:
        payload: dict[str, Any] = await self.sealer.open_json(
            session, request.data_key_id, "requests", request.id, "payload", request.payload_enc)
        await self.audit.record(session, actor=Actor("notices", "hub"), action="read", entity_type="Task",
                                    entity_id=request.id, detail="requester address for an outbound email")
        email = (payload.get("requester") or {}).get("email")
        return str(email) if email else None

    # -- notifications --------------------------------------------------------------------------------
    async def _recipient_emails(self, session: AsyncSession, request: Request) -> list[str]:
        """Who is told; remembered for the transaction (a group commit often routes many requests alike)."""
        memo: dict[tuple[Any, ...], list[str]] = session.info.setdefault("notices.recipients", {})
        key = (request.assigned_practitioner_id, request.assigned_team_id, request.in_triage)
        if key not in memo:
            memo[key] = await self._query_recipients(session, request)
        return memo[key]

    async def _query_recipients(self, session: AsyncSession, request: Request) -> list[str]:
        query = select(User.email).where(User.active.is_(True))
        if request.assigned_practitioner_id is not None:
            query = query.where(User.practitioner_id == request.assigned_practitioner_id)
        elif request.assigned_team_id is not None and not request.in_triage:
            query = query.join(Practitioner, Practitioner.id == User.practitioner_id).where(
                Practitioner.team_id == request.assigned_team_id, User.role.in_(("physician", "nurse")))
        else:
            query = query.where(User.role == "coordinator")
        return list(dict.fromkeys((await session.execute(query)).scalars().all()))

    async def _notify_recipients(self, session: AsyncSession, thread: Thread, request: Request,
                                 new_request: bool) -> None:
        link = f"{self.settings.base_url}/inbox/threads/{thread.id}"
        what = "Une nouvelle demande" if new_request else "Un nouveau message"
        subject = "Nouvelle demande" if new_request else "Nouveau message"
        for email in await self._recipient_emails(session, request):
            self.outbox.enqueue_email(session, "notify", OutboundEmail(
                to=[email], subject=f"[{thread.reference}] {subject} sur le guichet",
                text=(f"Bonjour,\n\n{what} vous attend sur le guichet unique (référence {thread.reference}).\n\n"
                      f"Pour le lire : {link}\n\nCe courriel ne contient aucune donnée de santé.\n\n{SIGNATURE}\n"),
                from_addr=self.from_addr, headers={"Auto-Submitted": "auto-generated"}), thread_id=thread.id)
