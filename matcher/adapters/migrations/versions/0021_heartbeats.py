"""heartbeats: when each queue's canary task, and each worker's, last completed; events.request_id

Readiness (/healthz/ready) and ``qimatch worker-health`` read the heartbeats: a worker that is
alive but no longer consuming (celery#8030) stops writing them. events.request_id: the web
request an event came from, so the relay's later publish still carries it into the tasks'
log lines. Nothing personal in either.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("completed_at", sa.DateTime(), nullable=False),
    )
    op.add_column("events", sa.Column("request_id", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("request_id")
    op.drop_table("heartbeats")
