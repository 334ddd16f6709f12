"""retention: reviews of inactive volunteers, and closed requests' erased contacts

People inactive for the retention period (24 months by default) are asked by email
whether to keep their details, and erased a month later unless they answer: each
question is a ``retention_reviews`` row with a due time, claimed by a periodic
dispatcher. A closed request's contact is anonymised once it has been closed for the
period (``team_requests.contact_erased_at``).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OPEN = "status IN ('asked', 'erasing')"


def upgrade() -> None:
    op.create_table(
        "retention_reviews",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("volunteer_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("kept_because", sa.String(20), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("erasing_since", sa.DateTime(), nullable=True),
        sa.Column("erased_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_retention_reviews"),
    )
    op.create_index("ix_retention_reviews_volunteer_id", "retention_reviews", ["volunteer_id"])
    op.create_index("ix_retention_reviews_status", "retention_reviews", ["status"])
    op.create_index(
        "uq_retention_reviews_open",
        "retention_reviews",
        ["volunteer_id"],
        unique=True,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )
    with op.batch_alter_table("team_requests") as batch:
        batch.add_column(sa.Column("contact_erased_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("team_requests") as batch:
        batch.drop_column("contact_erased_at")
    op.drop_index("uq_retention_reviews_open", table_name="retention_reviews")
    op.drop_index("ix_retention_reviews_status", table_name="retention_reviews")
    op.drop_index("ix_retention_reviews_volunteer_id", table_name="retention_reviews")
    op.drop_table("retention_reviews")
