"""content_versions: the FAQ, the home page's text and the emails' wording as coordinators edit them

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("by", sa.String(32)),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("reverted_from", sa.Integer),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_versions")),
    )
    op.create_index("ix_content_versions_key_id", "content_versions", ["key", "id"])


def downgrade() -> None:
    op.drop_index("ix_content_versions_key_id", table_name="content_versions")
    op.drop_table("content_versions")
