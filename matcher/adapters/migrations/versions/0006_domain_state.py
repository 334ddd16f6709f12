"""volunteers.paused_until and volunteers.erased_at: state stored, not inferred

Until now the end of a pause was read back from the latest "volunteer.paused" event,
and an erasure was inferred from the anonymised name. Both become columns, filled
here from what the old code inferred, so no pause or erasure is lost.

Revision ID: 0006
Revises: 0005
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ERASED_NAME = "Erased volunteer"  # the name erasure gave, which the old code went by

volunteers = sa.table(
    "volunteers",
    sa.column("id", sa.String),
    sa.column("name", sa.String),
    sa.column("status", sa.String),
    sa.column("updated_at", sa.DateTime),
    sa.column("paused_until", sa.Date),
    sa.column("erased_at", sa.DateTime),
)
events = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("volunteer_id", sa.String),
    sa.column("occurred_at", sa.DateTime),
    sa.column("data", sa.JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(), nullable=True))
    conn = op.get_bind()
    paused = conn.execute(sa.select(volunteers.c.id).where(volunteers.c.status == "paused")).scalars().all()
    for volunteer_id in paused:
        last = conn.execute(
            sa.select(events.c.data)
            .where(events.c.volunteer_id == volunteer_id, events.c.kind == "volunteer.paused")
            .order_by(events.c.id.desc())
            .limit(1)
        ).scalar()
        until = (last or {}).get("until")
        if until:
            conn.execute(
                volunteers.update()
                .where(volunteers.c.id == volunteer_id)
                .values(paused_until=date.fromisoformat(until))
            )
    erased = conn.execute(
        sa.select(volunteers.c.id, volunteers.c.updated_at).where(
            volunteers.c.status == "withdrawn", volunteers.c.name == ERASED_NAME
        )
    ).all()
    for volunteer_id, updated_at in erased:
        at = conn.execute(
            sa.select(sa.func.max(events.c.occurred_at)).where(
                events.c.volunteer_id == volunteer_id, events.c.kind == "volunteer.erased"
            )
        ).scalar()
        conn.execute(volunteers.update().where(volunteers.c.id == volunteer_id).values(erased_at=at or updated_at))


def downgrade() -> None:
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
        batch_op.drop_column("paused_until")
