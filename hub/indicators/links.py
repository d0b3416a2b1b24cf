"""A GP reads their own figures without an account: a single-use link sent to the secure mailbox the directory knows.

Contract: ``GpLinks(hub, settings)`` is built once per app (its rate limits are shared in the database,
``hub.scale.ratelimit``: ``PER_SOURCE_HOUR`` asks an hour per asking address, ``PER_RPPS_HOUR`` per RPPS).
- ``await links.ask(rpps, source) -> float``: the seconds to wait when a limit is reached (nothing done), else 0.0
  — the same for every RPPS, known or not, so that no answer tells whether a practitioner is in the directory.
  When the directory holds a practitioner with that RPPS and an MSSanté address (``practitioners.csv`` or the
  Annuaire Santé import), a token (32 random bytes) is made, only its SHA-256 digest is stored
  (``indicator_links``), valid ``settings.link_hours`` hours and once, and the link email (no health data) is
  queued as an outbox row of kind ``mssante`` to that address: never to an address the asker typed. The sending
  is audited (``create`` of ``IndicatorLink``, never the address).
- ``await links.check(token, source)``: the link is live (unused, unexpired), else :class:`LinkError`.
- ``await links.use(token, source) -> str``: spends the link (one conditional UPDATE: of two concurrent uses one
  wins) and returns its RPPS; the opening is audited (``read`` of ``IndicatorLink``). Refusals (unknown, used,
  expired) raise :class:`LinkError` (French, 404 or 410) and are audited ``denied``.
The identity the hub stands behind is the directory's: the link reaches whoever reads that practitioner's MSSanté
mailbox, as the hub's clinical answers do (``hub.trust.answers``).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub import clock
from hub.audit import Actor
from hub.indicators.config import IndicatorSettings
from hub.outbox import OutboundEmail
from hub.references import token_digest
from hub.scale.ratelimit import Bucket
from hub.store.models import IndicatorLink, Practitioner, utcnow

if TYPE_CHECKING:
    from hub.core import Hub

PER_SOURCE_HOUR = 20
PER_RPPS_HOUR = 3
GONE = ("Ce lien n'est pas valable, ou plus : il a déjà servi, a expiré ou est incomplet. Demandez-en un nouveau "
        "sur la page « Vos indicateurs ».")


class LinkError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def link_email(hub: Hub, to: str, token: str, expires: datetime) -> OutboundEmail:
    settings = hub.settings
    text = ("Bonjour,\n\nVous avez demandé à consulter les indicateurs des demandes que vous avez adressées au "
            "service de prévention et de santé au travail.\n\n"
            f"Ouvrez ce lien : {settings.base_url}/indicateurs/medecin/{token}\n\n"
            f"Il ne sert qu'une fois et reste valable jusqu'au {clock.fr_datetime(expires)}. Ce courriel ne "
            "contient aucune information médicale. Si vous n'avez rien demandé, ignorez-le.\n\n"
            "Guichet unique santé au travail\n")
    return OutboundEmail(to=[to], subject="Vos indicateurs du guichet santé au travail", text=text,
                         from_addr=settings.address, headers={"Auto-Submitted": "auto-generated"})


class GpLinks:
    def __init__(self, hub: Hub, settings: IndicatorSettings) -> None:
        self.hub = hub
        self.hours = settings.link_hours
        self.per_source = hub.limits.limit(Bucket.per_hour("indicators-link-source", PER_SOURCE_HOUR))
        self.per_rpps = hub.limits.limit(Bucket.per_hour("indicators-link-rpps", PER_RPPS_HOUR))

    async def ask(self, rpps: str, source: str | None) -> float:
        for limit, key in ((self.per_source, source or "-"), (self.per_rpps, rpps)):
            wait = await limit.take(key)
            if wait > 0:
                return wait
        hub, token, now = self.hub, secrets.token_urlsafe(32), utcnow()
        async with hub.db.session() as session, session.begin():
            practitioner = (await session.execute(select(Practitioner).where(Practitioner.rpps == rpps))
                            ).scalar_one_or_none()
            if practitioner is None or not practitioner.mssante:
                return 0.0
            expires = now + timedelta(hours=self.hours)
            link = IndicatorLink(token_digest=token_digest(token), practitioner_id=practitioner.id, created_at=now,
                                 expires_at=expires)
            session.add(link)
            await session.flush()
            hub.outbox.enqueue_email(session, "indicators-link", link_email(hub, practitioner.mssante, token, expires),
                                     kind="mssante")
            await hub.audit.record(session, actor=Actor(f"indicateurs-medecin:{practitioner.id}", source),
                                   action="create", entity_type="IndicatorLink", entity_id=str(link.id),
                                   detail="link to own indicators sent to the directory's MSSanté address")
        return 0.0

    async def check(self, token: str, source: str | None) -> None:
        async with self.hub.db.session() as session:
            link = await self._find(session, token)
        if link is None or link.used_at is not None or utcnow() >= link.expires_at:
            await self._refuse(link, source, "open")

    async def use(self, token: str, source: str | None) -> str:
        now = utcnow()
        async with self.hub.db.session() as session, session.begin():
            spent = await session.execute(
                update(IndicatorLink).where(IndicatorLink.token_digest == token_digest(token),
                                            IndicatorLink.used_at.is_(None), IndicatorLink.expires_at > now)
                .values(used_at=now).execution_options(synchronize_session=False))
            if spent.rowcount == 1:  # type: ignore[attr-defined]
                link = await self._find(session, token)
                assert link is not None
                rpps = (await session.execute(select(Practitioner.rpps).where(
                    Practitioner.id == link.practitioner_id))).scalar_one()
                await self.hub.audit.record(session, actor=Actor(f"indicateurs-medecin:{link.practitioner_id}",
                                                                 source),
                                            action="read", entity_type="IndicatorLink", entity_id=str(link.id),
                                            detail="own indicators shown")
                return str(rpps)
        async with self.hub.db.session() as session:
            link = await self._find(session, token)
        await self._refuse(link, source, "use")
        raise AssertionError("refused above")

    async def _find(self, session: AsyncSession, token: str) -> IndicatorLink | None:
        if not 20 <= len(token) <= 100:
            return None
        return (await session.execute(
            select(IndicatorLink).where(IndicatorLink.token_digest == token_digest(token)))).scalar_one_or_none()

    async def _refuse(self, link: IndicatorLink | None, source: str | None, what: str) -> None:
        actor = Actor(f"indicateurs-medecin:{link.practitioner_id}" if link else "indicateurs-medecin:inconnu", source)
        await self.hub.audit.record_refusal(actor=actor, action="read", entity_type="IndicatorLink",
                                            entity_id=str(link.id) if link else None,
                                            detail=f"{what}: link unknown, used or expired")
        raise LinkError(GONE, 404 if link is None else 410)
