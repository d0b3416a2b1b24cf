"""indicator links: a GP's single-use link to their own figures; requests by requester RPPS

- ``indicator_links``: the SHA-256 digest of a link's token (never the token), the practitioner of the directory it
  was sent for, when it was sent, expires and was used (``hub.indicators.links``);
- ``ix_requests_requester_rpps`` (``requester_rpps``, ``created_at``): one GP's requests of a period are an index
  range scan.

Revision ID: 0004_indicator_links
Revises: 0003_indicators
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.store.models.base import UTCDateTime

revision = "0004_indicator_links"
down_revision = "0003_indicators"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    op.drop_index("ix_requests_requester_rpps", table_name="requests")
    op.drop_index("ix_indicator_links_practitioner_id", table_name="indicator_links")
    op.drop_table("indicator_links")
