"""rescores_due: the durable queue of rescores that events ask for

Until now each rescore lived only as a broker message, one engine run per message.
A row per event, written in the event's transaction, lets a worker take a burst of
them into one engine run and delete them in the transaction that stores the
suggestions: a dead worker or a lost message leaves them for the next drain.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rescores_due",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("event_kind", sa.String(60), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rescores_due")
