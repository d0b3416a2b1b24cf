"""pickup: sender trust on messages, MSSanté addresses in the directory, secure pickups

``messages.trust`` (how far the hub stands behind the sender) and ``messages.claimed_rpps`` (an RPPS the text
quotes, a suggestion only); ``practitioners.mssante``; the ``pickups`` table of ``/retrait/{token}``.

Revision ID: 0003_pickup
Revises: 0002_inbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.store.models.base

revision = "0003_pickup"
down_revision = "0002_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("trust", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("claimed_rpps", sa.String(length=11), nullable=True))
    with op.batch_alter_table("practitioners") as batch:
        batch.add_column(sa.Column("mssante", sa.String(length=254), nullable=True))
    op.create_table(
        "pickups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("thread_id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("trust", sa.String(length=12), nullable=False),
        sa.Column("data_key_id", sa.String(length=36), nullable=False),
        sa.Column("recipient_enc", sa.LargeBinary(), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", hub.store.models.base.UTCDateTime(), nullable=True),
        sa.Column("codes_sent", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("session_digest", sa.String(length=64), nullable=True),
        sa.Column("session_expires_at", hub.store.models.base.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("expires_at", hub.store.models.base.UTCDateTime(), nullable=False),
        sa.Column("opened_at", hub.store.models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", hub.store.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_digest"),
    )
    op.create_index("ix_pickups_thread_id", "pickups", ["thread_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_pickups_thread_id", table_name="pickups")
    op.drop_table("pickups")
    with op.batch_alter_table("practitioners") as batch:
        batch.drop_column("mssante")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("claimed_rpps")
        batch.drop_column("trust")
