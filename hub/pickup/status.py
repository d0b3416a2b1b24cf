"""What the physician sees of a secure pickup on their outbound message, in French.

Contract: ``await pickup_status(session, thread_id)`` → ``{message_id: "…"}`` for the thread's outbound messages
that left by secure pickup: waiting (link sent, not opened), opened (with the first opening's date and time),
locked (too many wrong codes), held (the worker's consent for its purpose was withdrawn: the correspondent cannot
read it, ``hub.pickup.service``) or expired. No address, nothing of the content.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import clock
from hub.store.models import Pickup, utcnow


async def pickup_status(session: AsyncSession, thread_id: str) -> dict[str, str]:
    now, out = utcnow(), {}
    for p in (await session.execute(select(Pickup).where(Pickup.thread_id == thread_id))).scalars():
        if p.status == "locked":
            text = "retrait sécurisé bloqué (trop de codes erronés)"
        elif p.status == "held":
            text = ("retrait sécurisé suspendu : le salarié a retiré son accord, le correspondant ne peut plus lire "
                    "ce message (voir la note du guichet)")
        elif p.opened_at is not None:
            text = f"lu par retrait sécurisé le {clock.fr_datetime(p.opened_at)}"
        elif now >= p.expires_at:
            text = "retrait sécurisé expiré sans avoir été lu"
        else:
            text = f"retrait sécurisé : lien envoyé, pas encore lu (valable jusqu'au {clock.fr_date(p.expires_at)})"
        out[p.message_id] = text
    return out
