"""Tables the indicators read besides the requests: the working-day calendar, the law-check refusals, and the
links by which a GP reads their own figures.

None holds health data: a calendar; for a refused request only its channel, kind, the requester's role, the
calling API client and the rule's code (``stoppage-too-short``…), never a value from the request; for a link,
the SHA-256 digest of its token (never the token), the practitioner of the directory it was sent for, and when
it was sent, expires and was used.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base, UTCDateTime, utcnow
from hub.store.models.messaging import OutboxItem, Request, RoutingDecision


class WorkingDay(Base):
    """One calendar day; ``ordinal`` counts the working days up to it (see ``hub.indicators.calendar``)."""

    __tablename__ = "working_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer)


class IntakeRefusal(Base):
    """One reason a request was refused by the law checks (a refusal with two reasons has two rows)."""

    __tablename__ = "intake_refusals"
    id: Mapped[int] = mapped_column(primary_key=True)
    refusal_id: Mapped[str] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(10))
    event: Mapped[str] = mapped_column(String(40))
    requester_kind: Mapped[str] = mapped_column(String(20))
    client_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(40))
    __table_args__ = (Index("ix_intake_refusals_at", "at"),)


class IndicatorLink(Base):
    """A single-use link to one practitioner's own figures (``hub.indicators.links``)."""

    __tablename__ = "indicator_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# indexes of other tables that only the indicators need (created by migration 0003_indicators)
Index("ix_requests_indicators", Request.created_at, Request.event, Request.status, Request.requester_kind,
      Request.assigned_team_id, Request.thread_id, Request.closed_at, Request.first_answer_at, Request.id)
Index("ix_requests_closed", Request.closed_at)
Index("ix_requests_requester_rpps", Request.requester_rpps, Request.created_at)  # one GP's figures
Index("ix_routing_decisions_request_time", RoutingDecision.request_id, RoutingDecision.created_at)
Index("ix_routing_decisions_created", RoutingDecision.created_at)
Index("ix_outbox_created", OutboxItem.created_at, OutboxItem.purpose, OutboxItem.status, OutboxItem.attempts)
