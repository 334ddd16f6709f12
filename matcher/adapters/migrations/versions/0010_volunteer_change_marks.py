"""volunteers.change_mark: what a worker's kept population reads to catch up

Each insert or update of a volunteer, and each change to their standing (a match
approved, rejected or closed), marks their row: on PostgreSQL with the writing
transaction's id, on SQLite with a counter. Workers keep the active volunteers
encoded in memory and re-read only the rows marked since their last look.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volunteers") as batch:
        batch.add_column(sa.Column("change_mark", sa.BigInteger, nullable=True))
        batch.create_index("ix_volunteers_change_mark", ["change_mark"])
    # Rows from before: marked now, so a population kept from here on starts level.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE volunteers SET change_mark = pg_current_xact_id()::text::bigint")
    else:
        op.execute("UPDATE volunteers SET change_mark = 1")


def downgrade() -> None:
    with op.batch_alter_table("volunteers") as batch:
        batch.drop_index("ix_volunteers_change_mark")
        batch.drop_column("change_mark")
