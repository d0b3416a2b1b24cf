"""The consent registry's tables (issue 13): decisions per worker and purpose, request subjects, recommendations.

Every decision is a new row (history is never rewritten); the current decision of a worker for a purpose is the
row with the highest ``seq`` for ``(worker_key, purpose)``. ``worker_key`` is a keyed hash (HMAC) of the worker's
identity (see ``hub.consent.identity``), never the identity. What was decided, when, by which channel, by whom
and why is sealed in ``details_enc`` like any health data (AES-256-GCM, ``"<table>:<id>:<column>"`` as associated
data): a dump of the database does not tell an objection from a consent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.store.models.base import Base, UTCDateTime, utcnow
from hub.store.models.messaging import Request


class ConsentDecision(Base):
    __tablename__ = "consent_decisions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    worker_key: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … per (worker_key, purpose): the history's order
    request_id: Mapped[str | None] = mapped_column(ForeignKey("requests.id"), index=True)
    request: Mapped[Request | None] = relationship(lazy="raise")  # so that requests are inserted first
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data_key_id: Mapped[str] = mapped_column(String(36))  # no FK: rows and keys are flushed in any order
    details_enc: Mapped[bytes] = mapped_column(LargeBinary)
    __table_args__ = (UniqueConstraint("worker_key", "purpose", "seq", name="uq_consent_decisions_seq"),)


class ConsentSubject(Base):
    """Whose consent governs a request: the keyed worker identity computed once, at intake."""

    __tablename__ = "consent_subjects"
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    request: Mapped[Request] = relationship(lazy="raise")
    worker_key: Mapped[str] = mapped_column(String(64), index=True)


class Recommendation(Base):
    """Pré-reprise recommendations to one recipient (``employer`` or ``medecin-conseil``), sent after ``due_at``."""

    __tablename__ = "recommendations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    request: Mapped[Request] = relationship(lazy="raise")
    recipient: Mapped[str] = mapped_column(String(20))  # employer | medecin-conseil
    status: Mapped[str] = mapped_column(String(12))  # scheduled | sent | refused | held
    message_id: Mapped[str | None] = mapped_column(String(36))  # the letter in the thread (direction out)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data_key_id: Mapped[str] = mapped_column(String(36))
    content_enc: Mapped[bytes] = mapped_column(LargeBinary)  # {"text", "checklist", "to"}
    __table_args__ = (Index("ix_recommendations_due", "status", "due_at"),)
