"""indicators: when a request was closed, the working-day calendar, law-check refusals, indexes for the figures

- ``requests.closed_at``: set when the Task reaches a closed status (backfilled from ``updated_at``: nothing
  changes a closed request, so its last update is its closing);
- ``requests.first_answer_at``: set when the first reply or request for information is sent (backfilled from
  the messages), so that a year's figures are one index range scan of ``requests``, not a look-up per request;
- ``working_days``: one row per calendar day with the running count of French working days (filled on demand by
  ``hub.indicators.calendar``);
- ``intake_refusals``: one row per reason a request was refused by the law checks (no health data);
- indexes so that the figures of a period are index range scans: requests by creation time (covering every
  column read) and closing time,
  routing decisions by time and by request, outbox rows by creation time (covering the columns counted).

Revision ID: 0003_indicators
Revises: 0002_inbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.store.models.base import UTCDateTime

revision = "0003_indicators"
down_revision = "0002_inbox"
branch_labels = None
depends_on = None
# every column the figures read from ``requests``: a period is an index-only range scan (the rows themselves carry
# the encrypted payload, which a scan would otherwise drag through)
INDICATOR_COLUMNS = ("created_at", "event", "status", "requester_kind", "assigned_team_id", "thread_id", "closed_at",
                     "first_answer_at", "id")


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("first_answer_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE requests SET closed_at = updated_at WHERE status IN ('completed', 'rejected', 'cancelled')")
    op.execute("UPDATE requests SET first_answer_at = (SELECT min(m.created_at) FROM messages m WHERE "
               "m.request_id = requests.id AND m.direction = 'out' AND m.kind IN ('reply', 'info-request'))")
    op.create_table(
        "working_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_working_days"),
    )
    op.create_table(
        "intake_refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refusal_id", sa.String(36), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("requester_kind", sa.String(20), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_intake_refusals"),
    )
    op.create_index("ix_intake_refusals_at", "intake_refusals", ["at"])
    op.create_index("ix_requests_indicators", "requests", list(INDICATOR_COLUMNS))
    op.create_index("ix_requests_closed", "requests", ["closed_at"])
    op.create_index("ix_routing_decisions_request_time", "routing_decisions", ["request_id", "created_at"])
    op.create_index("ix_routing_decisions_created", "routing_decisions", ["created_at"])
    op.create_index("ix_outbox_created", "outbox", ["created_at", "purpose", "status", "attempts"])


def downgrade() -> None:
    for name, table in (("ix_outbox_created", "outbox"), ("ix_routing_decisions_request_time", "routing_decisions"),
                        ("ix_routing_decisions_created", "routing_decisions"),
                        ("ix_requests_closed", "requests"),
                        ("ix_requests_indicators", "requests"), ("ix_intake_refusals_at", "intake_refusals")):
        op.drop_index(name, table_name=table)
    op.drop_table("intake_refusals")
    op.drop_table("working_days")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("first_answer_at")
        batch.drop_column("closed_at")
