"""accounts: a second factor (TOTP secret sealed like health data, recovery codes), session stages and activity

``users`` gains the sealed TOTP secret (``totp_secret_enc`` under the data key ``totp_key_id``), when it was
confirmed, the last time step accepted (replay protection), the recovery codes' SHA-256 (JSON) and when the
password last changed. ``web_sessions`` gains ``stage`` (``full``, or ``enrol`` while the second factor is being
set up) and ``last_seen_at`` (inactivity timeout).

Revision ID: 0003_accounts
Revises: 0002_inbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_accounts"
down_revision = "0002_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_key_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("totp_secret_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("totp_confirmed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("recovery_hashes", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("password_changed_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=10), nullable=False, server_default="full"))
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("stage")
    with op.batch_alter_table("users", schema=None) as batch_op:
        for column in ("password_changed_at", "recovery_hashes", "totp_last_step", "totp_confirmed_at",
                       "totp_secret_enc", "totp_key_id"):
            batch_op.drop_column(column)
