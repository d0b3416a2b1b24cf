"""What the thread says, beside each outbound message, about how it left (or why it did not).

Contract: ``await departure_lines(session, thread_id)`` → ``{message_id: "…"}`` in French, for the thread's
outbound messages: a pré-reprise letter (to whom, by which channel — MSSanté or secure pickup —, scheduled, sent,
refused or held), a message the outbox held back because the worker withdrew consent after it was queued
(``hub.consent.outbound``), and a secure pickup's state (``hub.pickup.status``), joined by " · ". No address,
nothing of the content; the reason of a hold is in the thread's sealed status line (``hub.consent.gate.held_line``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import clock
from hub.consent.purposes import LETTER_RECIPIENTS
from hub.pickup.status import pickup_status
from hub.store.models import Message, OutboxItem, Recommendation

VIA_FR = {"mssante": "par messagerie sécurisée de santé (MSSanté)", "retrait": "par lien de retrait sécurisé"}
HELD = "non envoyé : le salarié a retiré son accord avant le départ (voir la ligne du guichet dans l'historique)"


async def departure_lines(session: AsyncSession, thread_id: str) -> dict[str, str]:
    lines: dict[str, list[str]] = {}
    letters = (await session.execute(
        select(Recommendation, Message.channel).join(Message, Message.id == Recommendation.message_id)
        .where(Message.thread_id == thread_id))).all()
    for row, channel in letters:
        to = LETTER_RECIPIENTS[row.recipient][1] if row.recipient in LETTER_RECIPIENTS else row.recipient
        head = f"Recommandations pour {to}, {VIA_FR.get(channel, channel)}"
        state = {"scheduled": f"départ prévu le {clock.fr_datetime(row.due_at)}, sauf opposition du salarié",
                 "sent": f"parties le {clock.fr_datetime(row.sent_at)}" if row.sent_at else "parties",
                 "refused": "non envoyées : le salarié s'y est opposé avant leur départ",
                 "held": "non envoyées : le salarié s'y est opposé ou a retiré son accord avant qu'elles ne "
                         "soient lues (voir la ligne du guichet dans l'historique)"}.get(row.status, row.status)
        lines.setdefault(row.message_id or "", []).append(f"{head} : {state}")
    held = (await session.execute(select(OutboxItem.message_id).where(
        OutboxItem.thread_id == thread_id, OutboxItem.status == "held", OutboxItem.message_id.is_not(None)))).all()
    letter_ids = {row.message_id for row, _ in letters}
    for (message_id,) in held:
        if message_id and message_id not in letter_ids:
            lines.setdefault(message_id, []).append(HELD)
    for message_id, text in (await pickup_status(session, thread_id)).items():
        lines.setdefault(message_id, []).append(text)
    return {message_id: " · ".join(texts) for message_id, texts in lines.items()}
