"""Where chats happen: a request's venue and video link, a match's own, and its invitation's revision

Revision ID: 0004
Revises: 0003
"""

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


def downgrade() -> None:
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_column("invite_sequence")
        batch_op.drop_column("video_link")
        batch_op.drop_column("venue")
    with op.batch_alter_table("team_requests", schema=None) as batch_op:
        batch_op.drop_column("video_link")
        batch_op.drop_column("venue")
