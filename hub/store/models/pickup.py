"""Secure pickups (``/retrait/{token}``): a clinical answer waiting for a correspondent the hub cannot reach
securely. Only digests of the link token, of the one-time code and of the pickup session are stored; the
recipient's address is encrypted like any identity (``recipient_enc`` under ``data_key_id``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.store.models.base import Base, UTCDateTime, new_id, utcnow
from hub.store.models.messaging import Message, Thread


class Pickup(Base):
    __tablename__ = "pickups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id"), index=True)
    thread: Mapped[Thread] = relationship(lazy="raise")
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"))
    message: Mapped[Message] = relationship(lazy="raise")
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    trust: Mapped[str] = mapped_column(String(12))  # the recipient's trust level when the answer was written
    data_key_id: Mapped[str] = mapped_column(String(36))  # no FK: rows and keys are flushed in any order
    recipient_enc: Mapped[bytes] = mapped_column(LargeBinary)
    code_digest: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    codes_sent: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # wrong codes so far
    session_digest: Mapped[str | None] = mapped_column(String(64))
    session_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="waiting")  # waiting | opened | locked | held
    # the consent purpose the content serves: checked again at every step of the correspondent (hub.consent.gate);
    # ``held`` while the worker's decision forbids it. NULL: the worker themselves, or a pickup made before.
    consent_purpose: Mapped[str | None] = mapped_column(String(40))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
