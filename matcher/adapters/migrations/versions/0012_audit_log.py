"""audit_entries: every coordinator action and sign-in, ids and codes only

Who (coordinator id), what (an action code), about what (subject kind and id),
when, and small code-only details. A failed sign-in keeps the address typed, never
the password. Erasing a volunteer leaves their id here and nothing else of them.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("coordinator_id", sa.String(32)),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(200)),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("attempted_email", sa.String(320)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries") as batch:
        batch.create_index(batch.f("ix_audit_entries_at"), ["at"])
        batch.create_index(batch.f("ix_audit_entries_coordinator_id"), ["coordinator_id"])
        batch.create_index(batch.f("ix_audit_entries_action"), ["action"])
        batch.create_index("ix_audit_entries_subject", ["subject_kind", "subject_id"])


def downgrade() -> None:
    op.drop_table("audit_entries")
