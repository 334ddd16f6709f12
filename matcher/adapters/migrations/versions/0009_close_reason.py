"""matches.close_reason: a coordinator's closing words leave the event log

A security review found a coordinator's free-text closing reason kept in
``events.data`` after erasure, and shown on the API timeline, though events are to
hold codes only. The words move to the match (which erasure clears); the event keeps
the code "by_coordinator". Reasons the workflow writes are codes already and stay.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CODES = ("request_closed", "volunteer_withdrew", "by_coordinator")

events = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("match_id", sa.String),
    sa.column("data", sa.JSON),
)
matches = sa.table("matches", sa.column("id", sa.String), sa.column("close_reason", sa.Text))


def upgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.add_column(sa.Column("close_reason", sa.Text(), nullable=True))
    conn = op.get_bind()
    closed = conn.execute(
        sa.select(events.c.id, events.c.match_id, events.c.data).where(events.c.kind == "match.closed")
    )
    for event_id, match_id, data in closed.all():
        reason = (data or {}).get("reason")
        if reason and reason not in CODES:
            conn.execute(sa.update(matches).where(matches.c.id == match_id).values(close_reason=reason))
            conn.execute(
                sa.update(events).where(events.c.id == event_id).values(data={**data, "reason": "by_coordinator"})
            )


def downgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("close_reason")
