"""indicators, second round: facts on each request, a GP's single-use link, requests by requester RPPS

- ``requests.channel``, ``client_id`` (the thread's), ``created_wd``, ``answer_wd``, ``closed_wd`` (working-day ordinals of the days received, first answered,
  closed) and ``triage_in_at``, ``triage_out_at`` (first entry into triage, first decision naming a recipient after
  it), backfilled here and kept by ``hub.store.models.indicators`` since: the figures read them instead of joining
  the threads, a calendar and the routing decisions per request; the covering index ``ix_requests_indicators``
  gains them (and loses ``thread_id`` and ``id``); ``ix_requests_closed`` covers the backlog's columns; the
  ``working_days`` table is dropped (nothing reads it any more);

- ``indicator_links``: the SHA-256 digest of a link's token (never the token), the practitioner of the directory it
  was sent for, when it was sent, expires and was used (``hub.indicators.links``);
- ``ix_requests_requester_rpps`` (``requester_rpps``, ``created_at``): one GP's requests of a period are an index
  range scan.

Revision ID: 0004_indicators
Revises: 0003_indicators
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

from hub.clock import in_paris
from hub.indicators.calendar import working_day_ordinal
from hub.store.models.base import UTCDateTime

revision = "0004_indicators"
down_revision = "0003_indicators"
branch_labels = None
depends_on = None

FACTS = ("created_at", "event", "status", "requester_kind", "assigned_team_id", "channel", "client_id", "closed_at",
         "first_answer_at", "created_wd", "answer_wd", "closed_wd", "triage_in_at", "triage_out_at")
CLOSED = ("closed_at", "created_at", "event", "requester_kind", "assigned_team_id", "channel", "client_id")
OLD_FACTS = ("created_at", "event", "status", "requester_kind", "assigned_team_id", "thread_id", "closed_at",
             "first_answer_at", "id")
# a triage decision: a triage reason or no recipient (hub.store.models.indicators). The reason is sealed into
# ``triage_reason_enc`` by the parallel head 0003_protect: when it has not run yet, the clear column still holds it.
CLEAR = "rd.triage_reason IS NOT NULL OR (rd.practitioner_id IS NULL AND rd.team_id IS NULL)"
SEALED = "rd.triage_reason_enc IS NOT NULL OR " + CLEAR
TRIAGE_IN = ("UPDATE requests SET triage_in_at = (SELECT min(rd.created_at) FROM routing_decisions rd WHERE "
             "rd.request_id = requests.id AND ({triage}))")
TRIAGE_OUT = ("UPDATE requests SET triage_out_at = (SELECT min(rd.created_at) FROM routing_decisions rd WHERE "
              "rd.request_id = requests.id AND NOT ({triage}) AND rd.created_at >= requests.triage_in_at) "
              "WHERE triage_in_at IS NOT NULL")


def _ordinal(value: object) -> int | None:
    if value is None:
        return None
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return working_day_ordinal(in_paris(stamp).date())  # the day in France (naive stored values are UTC)


def _backfill() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, created_at, first_answer_at, closed_at FROM requests")).all()
    update = sa.text("UPDATE requests SET created_wd = :c, answer_wd = :a, closed_wd = :d WHERE id = :id")
    for start in range(0, len(rows), 2000):
        conn.execute(update, [{"id": i, "c": _ordinal(c), "a": _ordinal(a), "d": _ordinal(d)}
                              for i, c, a, d in rows[start:start + 2000]])
    conn.execute(sa.text("UPDATE requests SET channel = (SELECT t.channel FROM threads t WHERE t.id = "
                         "requests.thread_id), client_id = (SELECT t.client_id FROM threads t WHERE t.id = "
                         "requests.thread_id)"))
    sealed = "triage_reason_enc" in {c["name"] for c in sa.inspect(conn).get_columns("routing_decisions")}
    for statement in (TRIAGE_IN, TRIAGE_OUT):
        conn.execute(sa.text(statement.replace("{triage}", SEALED if sealed else CLEAR)))


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("channel", sa.String(10), nullable=True))
        batch.add_column(sa.Column("client_id", sa.String(64), nullable=True))
        for name in ("created_wd", "answer_wd", "closed_wd"):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
        for name in ("triage_in_at", "triage_out_at"):
            batch.add_column(sa.Column(name, UTCDateTime(), nullable=True))
    _backfill()
    op.drop_index("ix_requests_indicators", table_name="requests")
    op.create_index("ix_requests_indicators", "requests", list(FACTS))
    op.drop_index("ix_requests_closed", table_name="requests")
    op.create_index("ix_requests_closed", "requests", list(CLOSED))
    op.drop_table("working_days")
    op.create_table(
        "indicator_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(64), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["practitioner_id"], ["practitioners.id"],
                                name="fk_indicator_links_practitioner_id_practitioners"),
        sa.PrimaryKeyConstraint("id", name="pk_indicator_links"),
        sa.UniqueConstraint("token_digest", name="uq_indicator_links_token_digest"),
    )
    op.create_index("ix_indicator_links_practitioner_id", "indicator_links", ["practitioner_id"])
    op.create_index("ix_requests_requester_rpps", "requests", ["requester_rpps", "created_at"])


def downgrade() -> None:
    op.create_table("working_days", sa.Column("day", sa.Date(), nullable=False),
                    sa.Column("ordinal", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("day", name="pk_working_days"))
    op.drop_index("ix_requests_closed", table_name="requests")
    op.create_index("ix_requests_closed", "requests", ["closed_at"])
    op.drop_index("ix_requests_indicators", table_name="requests")
    op.create_index("ix_requests_indicators", "requests", list(OLD_FACTS))
    with op.batch_alter_table("requests") as batch:
        for name in ("triage_out_at", "triage_in_at", "closed_wd", "answer_wd", "created_wd", "client_id", "channel"):
            batch.drop_column(name)
    op.drop_index("ix_requests_requester_rpps", table_name="requests")
    op.drop_index("ix_indicator_links_practitioner_id", table_name="indicator_links")
    op.drop_table("indicator_links")
