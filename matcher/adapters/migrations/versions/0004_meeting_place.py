"""Where chats happen: a request's venue and video link, a match's own, and its invitation's revision;
emails in flight become owed deliveries

Revision ID: 0004
Revises: 0003
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("team_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("venue", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("video_link", sa.String(length=500), nullable=True))
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("venue", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("video_link", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("invite_sequence", sa.Integer(), nullable=False, server_default="0"))
    _owe_emails_in_flight()


# Emails are now owed as delivery rows when they are decided, and the sweep sends
# any row left unsent. Introductions and follow-up emails decided before this
# revision have no row yet: owe them, so the sweep finishes what was in flight.
IN_FLIGHT = [
    # (key before the id, key after it, the rows in flight)
    ("introduction:", ":{party}", "matches r WHERE r.status = 'approved'"),
    ("follow_up:", ":invitation:{party}", "follow_ups r WHERE r.status = 'invited'"),
    ("follow_up:", ":reminder:{party}", "follow_ups r WHERE r.status = 'reminded'"),
]


def _owe_emails_in_flight() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, like every timestamp here
    for before, after, source in IN_FLIGHT:
        for party in ("team", "volunteer"):
            bind.execute(
                sa.text(
                    "INSERT INTO deliveries (key, status, attempts, claimed_at) "
                    f"SELECT :before || r.id || :after, 'owed', 0, :now FROM {source} "  # noqa: S608 - constants
                    "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.key = :before || r.id || :after)"
                ),
                {"before": before, "after": after.format(party=party), "now": now},
            )


def downgrade() -> None:
    # The older code cannot claim an owed row (it claims by inserting one): let it.
    op.execute("DELETE FROM deliveries WHERE status = 'owed'")
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_column("invite_sequence")
        batch_op.drop_column("video_link")
        batch_op.drop_column("venue")
    with op.batch_alter_table("team_requests", schema=None) as batch_op:
        batch_op.drop_column("video_link")
        batch_op.drop_column("venue")
