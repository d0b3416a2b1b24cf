"""mssante_source: where a practitioner's MSSanté address comes from

``practitioners.mssante_source``: ``directory`` (the SPSTI's practitioners.csv) or ``annuaire`` (the Annuaire Santé
extraction, which removes the addresses it no longer lists). Existing addresses are counted as the SPSTI's own.

Revision ID: 0004_mssante_source
Revises: 0003_pickup
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_mssante_source"
down_revision = "0003_pickup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("practitioners") as batch:
        batch.add_column(sa.Column("mssante_source", sa.String(length=10), nullable=True))
    op.execute("UPDATE practitioners SET mssante_source = 'directory' WHERE mssante IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("practitioners") as batch:
        batch.drop_column("mssante_source")
