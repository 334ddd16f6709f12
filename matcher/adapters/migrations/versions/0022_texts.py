"""texts: a delivery's receipt from GOV.UK Notify, and its notification id looked up

Texts share the deliveries table with emails (their keys start ``text:``); ``message_id``
holds Notify's notification id, which a delivery receipt names. ``receipt`` is Notify's
word for what became of the text (delivered, permanent-failure, temporary-failure,
technical-failure), ``receipt_at`` when it told us. Phone numbers stored before they were
checked are left as they are: they are read leniently (``matcher.phones``) and get no texts.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("receipt", sa.String(30)))
        batch.add_column(sa.Column("receipt_at", sa.DateTime()))
    op.create_index("ix_deliveries_message_id", "deliveries", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_message_id", "deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("receipt_at")
        batch.drop_column("receipt")
