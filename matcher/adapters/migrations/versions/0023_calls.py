"""calls: the calls coordinators owe volunteers who prefer the phone (matcher.calls)

One row per volunteer, reason and subject (a unique key: owed once, never twice), made in the
transaction of what owes it. ``note`` is a coordinator's words about the call: erasure clears
it and removes the calls still owed.

Revision ID: 0023
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("volunteer_id", sa.String(32), sa.ForeignKey("volunteers.id"), nullable=False),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("subject_kind", sa.String(30), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("match_id", sa.String(32), sa.ForeignKey("matches.id")),
        sa.Column("owed_at", sa.DateTime(), nullable=False),
        sa.Column("called_at", sa.DateTime()),
        sa.Column("called_by", sa.String(32)),
        sa.Column("note", sa.Text()),
        sa.UniqueConstraint("volunteer_id", "reason", "subject_id", name="uq_calls_volunteer_reason_subject"),
    )
    op.create_index("ix_calls_volunteer_id", "calls", ["volunteer_id"])
    op.create_index("ix_calls_match_id", "calls", ["match_id"])
    op.create_index("ix_calls_owed_at", "calls", ["owed_at"])
    op.create_index("ix_calls_called_at", "calls", ["called_at"])


def downgrade() -> None:
    op.drop_table("calls")
