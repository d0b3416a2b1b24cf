"""indicators: when a request was closed, the working-day calendar, law-check refusals, indexes for the figures

- ``requests.closed_at``: set when the Task reaches a closed status (backfilled from ``updated_at``: nothing
  changes a closed request, so its last update is its closing);
- ``working_days``: one row per calendar day with the running count of French working days (filled on demand by
  ``hub.indicators.calendar``);
- ``intake_refusals``: one row per reason a request was refused by the law checks (no health data);
- indexes so that the figures of a period are index range scans: requests by creation time, answers (outgoing
  messages) by request, routing decisions by request and time, outbox rows by creation time.

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


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE requests SET closed_at = updated_at WHERE status IN ('completed', 'rejected', 'cancelled')")
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
    op.create_index("ix_requests_created", "requests", ["created_at", "id"])
    op.create_index("ix_requests_closed", "requests", ["closed_at"])
    op.create_index("ix_messages_answers", "messages", ["request_id", "direction", "kind", "created_at"])
    op.create_index("ix_routing_decisions_request_time", "routing_decisions", ["request_id", "created_at"])
    op.create_index("ix_outbox_created", "outbox", ["created_at"])


def downgrade() -> None:
    for name, table in (("ix_outbox_created", "outbox"), ("ix_routing_decisions_request_time", "routing_decisions"),
                        ("ix_messages_answers", "messages"), ("ix_requests_closed", "requests"),
                        ("ix_requests_created", "requests"), ("ix_intake_refusals_at", "intake_refusals")):
        op.drop_index(name, table_name=table)
    op.drop_table("intake_refusals")
    op.drop_table("working_days")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("closed_at")
