"""Login throttling state, shared by every instance (in the database, never in process memory)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base, UTCDateTime, utcnow


class LoginThrottle(Base):
    """Failed logins per keyed hash of (typed address, client address) or of a client address alone; the hash
    is the same whether the address belongs to an account or not."""

    __tablename__ = "login_throttle"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
