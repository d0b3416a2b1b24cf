"""inbox: box indexes carry the keyset tie-breaker (id) and the thread id

The inbox pages its boxes by ``(last_activity_at, id)``; with ``id`` in the index each branch of a box is one
ordered index range scan that stops after the page size, on SQLite and PostgreSQL alike. ``thread_id`` comes last
so that the unread counts (an anti-join on ``thread_reads``) read the index only. The former indexes (the same
first three columns) are replaced.

Revision ID: 0002_inbox
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002_inbox"
down_revision = "0001"
branch_labels = None
depends_on = None

PAIRS = (
    ("ix_requests_assignee_box", "ix_requests_assignee_page", "assigned_practitioner_id"),
    ("ix_requests_team_box", "ix_requests_team_page", "assigned_team_id"),
    ("ix_requests_informed", "ix_requests_informed_page", "informed_team_id"),
    ("ix_requests_triage", "ix_requests_triage_page", "in_triage"),
)


def upgrade() -> None:
    for old, new, column in PAIRS:
        op.create_index(new, "requests", [column, "status", "last_activity_at", "id", "thread_id"], unique=False)
        op.drop_index(old, table_name="requests")


def downgrade() -> None:
    for old, new, column in PAIRS:
        op.create_index(old, "requests", [column, "status", "last_activity_at"], unique=False)
        op.drop_index(new, table_name="requests")
