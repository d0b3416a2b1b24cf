"""What the indicators store: the facts kept on each request, the law-check refusals, and the links by which a GP
reads their own figures.

Facts on ``requests`` (so that a period's figures are one covering-index range scan, with no join per request),
kept in step with every ORM write by the events below (intake, answer, close, re-routing, reassignment all write
through the ORM; a bulk Core insert must set them itself, as ``bench/indicators_bench.py`` does):
- ``channel``, ``client_id``: the thread's (a thread's never change), copied when the request is inserted;
- ``created_wd``, ``answer_wd``, ``closed_wd``: the working-day ordinals (``hub.indicators.calendar``) of the days
  (in France: ``hub.clock``) of ``created_at``, ``first_answer_at`` and ``closed_at``, set whenever one of
  those is written;
- ``triage_in_at``: the time of the request's first triage decision (a routing decision with a triage reason or
  no recipient); ``triage_out_at``: the time of the first decision naming a recipient at or after it. Set once,
  when the routing decision is inserted (``after_insert``: one conditional UPDATE of the request).
None holds health data: for a refused request only its channel, kind, the requester's role, the
calling API client and the rule's code (``stoppage-too-short``…), never a value from the request; for a link,
the SHA-256 digest of its token (never the token), the practitioner of the directory it was sent for, and when
it was sent, expires and was used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, event, inspect, select, update
from sqlalchemy.orm import Mapped, mapped_column, object_session
from sqlalchemy.orm.util import identity_key

from hub.clock import in_paris
from hub.store.models.base import Base, UTCDateTime, utcnow
from hub.store.models.messaging import OutboxItem, Request, RoutingDecision, Thread


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


# the columns of requests the figures read: a period is one range scan of a covering index, by creation time
# (the cohort) or by closing time (the backlog: open, or closed after the end)
INDICATOR_COLUMNS = ("created_at", "event", "status", "requester_kind", "assigned_team_id", "channel", "client_id",
                     "closed_at", "first_answer_at", "created_wd", "answer_wd", "closed_wd", "triage_in_at",
                     "triage_out_at")
CLOSED_COLUMNS = ("closed_at", "created_at", "event", "requester_kind", "assigned_team_id", "channel", "client_id")


# indexes of other tables that only the indicators need (created by migration 0003_indicators)
Index("ix_requests_indicators", *(getattr(Request, c) for c in INDICATOR_COLUMNS))
Index("ix_requests_closed", *(getattr(Request, c) for c in CLOSED_COLUMNS))
Index("ix_requests_requester_rpps", Request.requester_rpps, Request.created_at)  # one GP's figures
Index("ix_routing_decisions_request_time", RoutingDecision.request_id, RoutingDecision.created_at)
Index("ix_routing_decisions_created", RoutingDecision.created_at)
Index("ix_outbox_created", OutboxItem.created_at, OutboxItem.purpose, OutboxItem.status, OutboxItem.attempts)


def _ordinal(stamp: datetime | None) -> int | None:
    if stamp is None:
        return None
    from hub.indicators.calendar import working_day_ordinal  # here: hub.indicators imports these models

    return working_day_ordinal(in_paris(stamp).date())  # the day in France, as the law and the users count


_STAMPS = (("created_at", "created_wd"), ("first_answer_at", "answer_wd"), ("closed_at", "closed_wd"))


@event.listens_for(Request, "before_insert")
def _request_inserted(mapper: Any, connection: Any, request: Request) -> None:
    if request.created_at is None:
        request.created_at = utcnow()  # the column default, taken now so that its ordinal can be
    session = object_session(request)
    thread: Any = session.identity_map.get(identity_key(Thread, request.thread_id)) if session else None
    if thread is None:  # not in this session: inserted before (foreign key), read it
        thread = connection.execute(select(Thread.channel, Thread.client_id).where(Thread.id == request.thread_id)
                                    ).first()
    if thread is not None:
        request.channel, request.client_id = thread.channel, thread.client_id
    for stamp, column in _STAMPS:
        setattr(request, column, _ordinal(getattr(request, stamp)))


@event.listens_for(Request, "before_update")
def _request_updated(mapper: Any, connection: Any, request: Request) -> None:
    attrs = inspect(request).attrs
    for stamp, column in _STAMPS:
        if attrs[stamp].history.has_changes():
            setattr(request, column, _ordinal(getattr(request, stamp)))


def is_triage(decision: RoutingDecision) -> bool:
    """A decision that sends the request to the triage queue: a triage reason (sealed or, in old rows, clear), or
    no recipient at all."""
    return (decision.triage_reason_enc is not None or decision.triage_reason is not None
            or (decision.practitioner_id is None and decision.team_id is None))


@event.listens_for(RoutingDecision, "before_insert")
def _decision_time(mapper: Any, connection: Any, decision: RoutingDecision) -> None:
    if decision.created_at is None:
        decision.created_at = utcnow()


@event.listens_for(RoutingDecision, "after_insert")
def _decision_inserted(mapper: Any, connection: Any, decision: RoutingDecision) -> None:
    r, at = Request, decision.created_at
    if is_triage(decision):
        connection.execute(update(r).where(r.id == decision.request_id, r.triage_in_at.is_(None))
                           .values(triage_in_at=at))
    else:
        connection.execute(update(r).where(r.id == decision.request_id, r.triage_in_at.is_not(None),
                                           r.triage_out_at.is_(None), r.triage_in_at <= at)
                           .values(triage_out_at=at))
