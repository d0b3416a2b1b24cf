"""Shared state of several instances: rate-limit buckets and named leases (DESIGN "Scale").

Nothing here holds health data: bucket keys are keyed hashes of client ids or addresses, lease names are fixed
labels (``mssante-reader``), holders are random instance ids.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base, UTCDateTime


class RateBucket(Base):
    """One token bucket: ``tokens`` left at ``stamp`` (seconds since the epoch); ``full_at`` when it is full again
    (rows past it behave like absent ones and are purged)."""

    __tablename__ = "rate_buckets"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    stamp: Mapped[float] = mapped_column(Float)
    full_at: Mapped[float] = mapped_column(Float, index=True)
    allowed: Mapped[bool] = mapped_column(default=True)


class Lease(Base):
    """A named piece of work one instance at a time may do (the MSSanté reader); lost when not renewed."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
