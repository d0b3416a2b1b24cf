"""consent: the consent registry (decisions per worker and purpose, with history), request subjects, recommendations

Revision ID: 0003_consent
Revises: 0002_inbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.store.models.base import UTCDateTime

revision = "0003_consent"
down_revision = "0002_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_decisions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("worker_key", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(36), sa.ForeignKey("requests.id", name="fk_consent_decisions_request_id_requests"),
                  nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("data_key_id", sa.String(36), nullable=False),
        sa.Column("details_enc", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consent_decisions"),
        sa.UniqueConstraint("worker_key", "purpose", "seq", name="uq_consent_decisions_seq"),
    )
    op.create_index("ix_consent_decisions_request_id", "consent_decisions", ["request_id"])
    op.create_table(
        "consent_subjects",
        sa.Column("request_id", sa.String(36), sa.ForeignKey("requests.id", ondelete="CASCADE",
                                                             name="fk_consent_subjects_request_id_requests"),
                  nullable=False),
        sa.Column("worker_key", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_consent_subjects"),
    )
    op.create_index("ix_consent_subjects_worker_key", "consent_subjects", ["worker_key"])
    op.create_table(
        "recommendations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(36), sa.ForeignKey("requests.id", name="fk_recommendations_request_id_requests"),
                  nullable=False),
        sa.Column("recipient", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("author_user_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_recommendations_author_user_id_users"),
                  nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("data_key_id", sa.String(36), nullable=False),
        sa.Column("content_enc", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recommendations"),
    )
    op.create_index("ix_recommendations_request_id", "recommendations", ["request_id"])
    op.create_index("ix_recommendations_due", "recommendations", ["status", "due_at"])


def downgrade() -> None:
    op.drop_table("recommendations")
    op.drop_table("consent_subjects")
    op.drop_table("consent_decisions")
