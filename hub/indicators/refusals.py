"""Recording that a request was refused by the law checks, for the indicators (no health data: codes only).

Contract: ``await record_refusal(db, channel=…, event=…, requester_kind=…, reasons=[codes], client_id=None)``
writes one ``intake_refusals`` row per reason code (``hub.intake.law`` violation codes), in its own transaction.
It is the seam the intake path calls wherever it turns a request down; a storage failure is logged (without
values) and swallowed: the sender's answer does not depend on the count.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from hub.store.db import Database
from hub.store.models import IntakeRefusal, new_id, utcnow

log = logging.getLogger(__name__)


async def record_refusal(db: Database, *, channel: str, event: str, requester_kind: str, reasons: Iterable[str],
                         client_id: str | None = None) -> None:
    codes = sorted({r[:40] for r in reasons})
    if not codes:
        return
    refusal_id, now = new_id(), utcnow()
    try:
        async with db.session() as session, session.begin():
            session.add_all([IntakeRefusal(refusal_id=refusal_id, at=now, channel=channel[:10], event=event[:40],
                                           requester_kind=requester_kind[:20], client_id=client_id, reason=code)
                             for code in codes])
    except Exception:  # noqa: BLE001 - a lost count must not turn an answered refusal into an error
        log.warning("could not record a refusal for the indicators", exc_info=False)
