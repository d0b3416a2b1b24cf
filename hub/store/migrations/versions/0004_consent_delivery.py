"""consent_delivery: the consent check when queued messages leave, and how pré-reprise letters leave

``outbox.consent_purpose`` / ``request_id`` / ``message_id`` (a row carrying clinical content names the purpose it
serves, so the outbox worker checks the worker's consent again when it delivers it; status ``held`` when not);
``pickups.consent_purpose`` (the same check when the correspondent opens the link); ``recommendations.message_id``
(the letter as an outbound message of the thread, with the channel it leaves by).

Revision ID: 0004_consent_delivery
Revises: 0003_consent, 0003_pickup (it alters the recommendations and the pickups tables: it joins those two heads)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_consent_delivery"
down_revision = ("0003_consent", "0003_pickup")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("consent_purpose", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("request_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("message_id", sa.String(length=36), nullable=True))
    with op.batch_alter_table("pickups") as batch:
        batch.add_column(sa.Column("consent_purpose", sa.String(length=40), nullable=True))
    with op.batch_alter_table("recommendations") as batch:
        batch.add_column(sa.Column("message_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recommendations") as batch:
        batch.drop_column("message_id")
    with op.batch_alter_table("pickups") as batch:
        batch.drop_column("consent_purpose")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("message_id")
        batch.drop_column("request_id")
        batch.drop_column("consent_purpose")
