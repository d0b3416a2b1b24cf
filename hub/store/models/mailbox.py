"""Leases on shared resources: one row per mailbox an instance reads (``mailbox_leases``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base, UTCDateTime


class MailboxLease(Base):
    """Who reads a mailbox until when. A holder renews before ``expires_at``; anyone may take an expired lease."""

    __tablename__ = "mailbox_leases"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
