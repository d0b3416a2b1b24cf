"""Accounts, web sessions, API clients, replay protection and the audit chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base, UTCDateTime, utcnow

USER_ROLES = ("physician", "nurse", "assistant", "coordinator", "admin", "direction")  # = hub.rights.ROLES


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    structure_id: Mapped[str | None] = mapped_column(ForeignKey("structures.id"))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # second factor (hub.mfa): the TOTP secret sealed under a data key (AAD "users:<id>:totp")
    totp_key_id: Mapped[str | None] = mapped_column(String(36))
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    recovery_hashes: Mapped[str | None] = mapped_column(Text)  # JSON list of SHA-256 of the unused codes
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A login session; the cookie carries a random token, the table only its SHA-256."""

    __tablename__ = "web_sessions"
    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stage: Mapped[str] = mapped_column(String(10), default="full", server_default="full")  # or "enrol"
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiClient(Base):
    """A CPTS/DAC system registered for SMART Backend Services."""

    __tablename__ = "api_clients"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    structure_id: Mapped[str] = mapped_column(ForeignKey("structures.id"))
    jwks: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsedJti(Base):
    """Client-assertion ids already seen (replay protection) until they expire."""

    __tablename__ = "used_jtis"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuditEvent(Base):
    """One entry of the tamper-evident audit chain. ``id`` is the insertion order; ``seq``, ``prev_hash`` and
    ``hash = SHA-256(prev_hash | seq | fields)`` are set when the entry is chained, just after its commit."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(String(300))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (Index("ix_audit_events_unchained", "id", postgresql_where=text("seq IS NULL"),
                            sqlite_where=text("seq IS NULL")),)


class AuditHead(Base):
    """The single row naming the chain's last entry; updating it serialises appends on every backend."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))
    scheme: Mapped[str] = mapped_column(String(20), default="sha256", server_default="sha256")
