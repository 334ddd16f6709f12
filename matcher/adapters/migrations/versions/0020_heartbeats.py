"""heartbeats: when each queue's canary task, and each worker's, last completed

Readiness (/healthz/ready) and ``qimatch worker-health`` read these rows: a worker that is
alive but no longer consuming (celery#8030) stops writing them. Nothing personal.

Revision ID: 0020
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("completed_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("heartbeats")
