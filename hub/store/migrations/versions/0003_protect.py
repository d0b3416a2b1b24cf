"""protect: routing text sealed at rest, the audit chain's hashing scheme

Routing text can hold typed or extracted words (a physician's note, an "employer" pulled out of a letter), so it
moves to encrypted columns: ``requests.triage_reason_enc`` (under the request's data key) and, on
``routing_decisions``, ``triage_reason_enc``, ``explanation_enc`` and ``facts_enc`` under a data key of the
decision's own (``data_key_id``). The clear columns stay (NULL / empty) so that older code reading them finds
nothing; rows written before this revision are sealed by ``guichet migrate`` (it needs the key store, which a
migration has not). ``login_throttle`` counts failed logins per keyed hash of (typed address, client) and of
the client alone (``hub.web.login_guard``). ``audit_head.scheme`` names how the chain is hashed: ``sha256`` (before) or
``hmac-sha256`` (keyed by the key store's ``audit.key``); the chain is re-hashed under the key the first time
it is sealed after this revision.

Revision ID: 0003_protect
Revises: 0002_inbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_protect"
down_revision = "0002_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("triage_reason_enc", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("routing_decisions") as batch:
        batch.add_column(sa.Column("data_key_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("triage_reason_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("explanation_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("facts_enc", sa.LargeBinary(), nullable=True))
    op.create_table(
        "login_throttle",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_login_throttle")),
    )
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("scheme", sa.String(length=20), nullable=False, server_default="sha256"))


def downgrade() -> None:
    op.drop_table("login_throttle")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("scheme")
    with op.batch_alter_table("routing_decisions") as batch:
        for name in ("facts_enc", "explanation_enc", "triage_reason_enc", "data_key_id"):
            batch.drop_column(name)
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("triage_reason_enc")
