"""Threads, requests (a FHIR Task over its focus), messages, attachments, routing decisions, consents, outbox.

The ``relationship()`` attributes exist so that the unit of work inserts parents before children; they are
never loaded (``lazy="raise"``): queries select what they need. Every column holding health data or a
worker's identity ends in ``_enc``: AES-256-GCM under the row's data key (``data_key_id``), with
``"<table>:<id>:<column>"`` as associated data (see ``hub.store.sealing``). Lookups by identifier go through
``request_lookups`` (keyed hashes).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.store.models.base import Base, UTCDateTime, new_id, utcnow

TASK_STATUSES = ("requested", "received", "accepted", "in-progress", "on-hold", "completed", "rejected", "cancelled")
CLOSED_STATUSES = ("completed", "rejected", "cancelled")


class DataKeyRow(Base):
    """A per-record data key, wrapped by a key-encryption key of the key store."""

    __tablename__ = "data_keys"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kek_id: Mapped[str] = mapped_column(String(40), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Thread(Base):
    """One conversation: the initial request, the messages both ways, whatever channel carried them."""

    __tablename__ = "threads"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    channel: Mapped[str] = mapped_column(String(10))  # email | fhir | form
    reply_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    follow_up_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    client_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Request(Base):
    """A FHIR Task (``id`` is the Task id) with its focus (ServiceRequest or Communication) kept encrypted."""

    __tablename__ = "requests"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id"), index=True)
    thread: Mapped[Thread] = relationship(lazy="raise")
    event: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    business_status: Mapped[str | None] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    requester_kind: Mapped[str] = mapped_column(String(20))
    requester_rpps: Mapped[str | None] = mapped_column(String(11))
    employer_siret: Mapped[str | None] = mapped_column(String(14), index=True)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"))
    assigned_practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    assigned_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    informed_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    in_triage: Mapped[bool] = mapped_column(Boolean, default=False)
    triage_reason: Mapped[str | None] = mapped_column(String(300))  # always NULL since 0003: see triage_reason_enc
    triage_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # hub.store.routing_text
    data_key_id: Mapped[str] = mapped_column(String(36))  # no FK: rows and keys are flushed in any order
    subject_enc: Mapped[bytes] = mapped_column(LargeBinary)
    payload_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the Task reached a closed status
    first_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first reply or info-request sent
    # facts for the indicators, kept by ORM events (hub.store.models.indicators): the thread's channel and API
    # client; working-day ordinals of the days received, first answered and closed; when the request first
    # entered triage and first left it
    channel: Mapped[str | None] = mapped_column(String(10))
    client_id: Mapped[str | None] = mapped_column(String(64))
    created_wd: Mapped[int | None] = mapped_column(Integer)
    answer_wd: Mapped[int | None] = mapped_column(Integer)
    closed_wd: Mapped[int | None] = mapped_column(Integer)
    triage_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    triage_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (
        # inbox boxes: keyset pages ordered by (last_activity_at, id) per assignee/team/informed/triage + status;
        # thread_id last so that unread counts (joined to thread_reads) are index-only
        Index("ix_requests_assignee_page", "assigned_practitioner_id", "status", "last_activity_at", "id", "thread_id"),
        Index("ix_requests_team_page", "assigned_team_id", "status", "last_activity_at", "id", "thread_id"),
        Index("ix_requests_informed_page", "informed_team_id", "status", "last_activity_at", "id", "thread_id"),
        Index("ix_requests_triage_page", "in_triage", "status", "last_activity_at", "id", "thread_id"),
    )


class RequestLookup(Base):
    """Keyed hashes a request can be found by (worker name, INS, employer name…): never the values."""

    __tablename__ = "request_lookups"
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    request: Mapped[Request] = relationship(lazy="raise")
    __table_args__ = (Index("ix_request_lookups_digest", "digest"),)


class ThreadRead(Base):
    """When a user last opened a thread (for unread counts)."""

    __tablename__ = "thread_reads"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(Base):
    """One message of a thread, in or out. ``rfc822_id`` is the email Message-ID (ours or the sender's)."""

    __tablename__ = "messages"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id"), index=True)
    request_id: Mapped[str | None] = mapped_column(ForeignKey("requests.id"))
    thread: Mapped[Thread] = relationship(lazy="raise")
    request: Mapped[Request | None] = relationship(lazy="raise")
    direction: Mapped[str] = mapped_column(String(8))  # in | out | internal
    kind: Mapped[str] = mapped_column(String(20))  # request | reply | info-request | ack | note | status
    channel: Mapped[str] = mapped_column(String(10))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_label: Mapped[str | None] = mapped_column(String(200))  # a role ("Médecin traitant") or a professional
    author_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # the sender's own name, when it may identify
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    rfc822_id: Mapped[str | None] = mapped_column(String(300), index=True)
    data_key_id: Mapped[str] = mapped_column(String(36))  # no FK: rows and keys are flushed in any order
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    raw_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # sender trust (DESIGN "Sender trust"): one of hub.intake.drafts.TRUST_LEVELS for messages in, else NULL;
    # claimed_rpps: an RPPS the text quotes when it does not establish who wrote (shown as a suggestion only)
    trust: Mapped[str | None] = mapped_column(String(12))
    claimed_rpps: Mapped[str | None] = mapped_column(String(11))


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
    message: Mapped[Message] = relationship(lazy="raise")
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    data_key_id: Mapped[str] = mapped_column(String(36))  # no FK: rows and keys are flushed in any order
    filename_enc: Mapped[bytes] = mapped_column(LargeBinary)
    content_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoutingDecision(Base):
    """Why a request went where it went: the rule that fired, and (sealed under the decision's own data key, see
    ``hub.store.routing_text``) the triage reason, the French explanation and the facts it used. The clear
    ``triage_reason``/``facts``/``explanation`` columns are left NULL/empty since revision 0003."""

    __tablename__ = "routing_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    request: Mapped[Request] = relationship(lazy="raise")
    rule: Mapped[str] = mapped_column(String(40))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    informed_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    triage_reason: Mapped[str | None] = mapped_column(String(300))
    facts: Mapped[str] = mapped_column(Text, default="{}")
    explanation: Mapped[str] = mapped_column(Text, default="")
    data_key_id: Mapped[str | None] = mapped_column(String(36))
    triage_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    explanation_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    facts_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    decided_by: Mapped[str] = mapped_column(String(120), default="router")
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentRecord(Base):
    """The worker's consent (or objection) to an exchange, per purpose, with date, channel and who declared it."""

    __tablename__ = "consents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    worker_digest: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str | None] = mapped_column(ForeignKey("requests.id"))
    request: Mapped[Request | None] = relationship(lazy="raise")
    purpose: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(10))  # permit | deny
    given_on: Mapped[str] = mapped_column(String(10))  # ISO date
    channel: Mapped[str] = mapped_column(String(20))
    declared_by: Mapped[str] = mapped_column(String(20))
    data_key_id: Mapped[str] = mapped_column(String(36))  # no FK: rows and keys are flushed in any order
    details_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxItem(Base):
    """Something to deliver (an email, a notification). Workers claim due rows and retry with backoff."""

    __tablename__ = "outbox"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))  # email
    purpose: Mapped[str] = mapped_column(String(20))  # ack | reply | notify | confirmation | info-request
    thread_id: Mapped[str | None] = mapped_column(ForeignKey("threads.id"), index=True)
    thread: Mapped[Thread | None] = relationship(lazy="raise")
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | sent | dead | held
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    data_key_id: Mapped[str] = mapped_column(String(36))  # no FK: rows and keys are flushed in any order
    payload_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(40), index=True)  # the delivering instance (hub.scale)
    # a row carrying clinical content: the consent purpose it serves, its request and message (hub.consent.outbound
    # checks the worker's consent again when it leaves; ``held`` when it may not); NULL: no clinical content
    consent_purpose: Mapped[str | None] = mapped_column(String(40))
    request_id: Mapped[str | None] = mapped_column(String(36))
    message_id: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)


class ThreadAlias(Base):
    """Extra RFC 5322 Message-IDs that belong to a thread (for In-Reply-To/References matching)."""

    __tablename__ = "thread_aliases"
    rfc822_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    __table_args__ = (UniqueConstraint("rfc822_id", name="uq_thread_aliases_id"),)
