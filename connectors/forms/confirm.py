"""The confirmation email of a form request: its reference and private follow-up link, nothing else.

Contract: ``await queue_confirmation(hub, result, draft, link)`` queues (through ``hub.outbox.enqueue_email``, in
a transaction of its own, right after ``intake.submit`` committed) one French email to
``draft.extra["confirm_to"]``, unless the thread already has a ``confirmation`` outbox row, so it is never sent
twice. It returns True when it queued one. Why not ``hub.notices``: the follow-up token exists in clear only in
the ``IntakeResult`` (the thread keeps its SHA-256), so a confirmation composed inside the intake transaction
cannot carry the link; the draft asks notices to stay quiet (``extra["no_ack"]``) and this module sends the
confirmation with the link. A crash between the two commits loses the email, not the request: the confirmation
page shows the same reference and link.
The text holds no health data and no name: the kind of request, the reference, the link, what happens next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from connectors.forms.followup import EVENT_FR, next_steps
from hub.intake import RequestDraft
from hub.outbox import OutboundEmail
from hub.store.models import OutboxItem

if TYPE_CHECKING:
    from hub.core import Hub
    from hub.intake.service import IntakeResult


def confirmation_text(reference: str, event: str, requester_kind: str, link: str) -> str:
    steps = "\n".join(f"- {s}" for s in next_steps(event, requester_kind))
    return (f"Bonjour,\n\nNous avons bien reçu votre demande : {EVENT_FR.get(event, 'demande')}.\n"
            f"Référence : {reference}\n\n"
            f"Pour suivre son avancement, utilisez ce lien personnel (ne le transmettez pas) :\n{link}\n\n"
            f"La suite :\n{steps}\n\n"
            "Ce courriel ne contient aucune donnée de santé. Si vous n'êtes pas à l'origine de cette demande, "
            "ignorez-le.\n\nGuichet unique santé au travail\n")


async def queue_confirmation(hub: Hub, result: IntakeResult, draft: RequestDraft, link: str) -> bool:
    to = draft.extra.get("confirm_to")
    if not to or not result.created:
        return False
    async with hub.db.session() as session, session.begin():
        already = (await session.execute(
            select(OutboxItem.id).where(OutboxItem.thread_id == result.thread_id,
                                        OutboxItem.purpose == "confirmation").limit(1))).scalar_one_or_none()
        if already is not None:
            return False
        hub.outbox.enqueue_email(session, "confirmation", OutboundEmail(
            to=[str(to)], subject=f"[{result.reference}] Votre demande a bien été reçue",
            text=confirmation_text(result.reference, draft.event, draft.requester.kind, link),
            from_addr=hub.settings.address, headers={"Auto-Submitted": "auto-generated"}),
            thread_id=result.thread_id)
    return True
