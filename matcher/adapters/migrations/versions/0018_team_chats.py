"""team_chats: informal chats about involvement that coordinators offer QI teams

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team_chats",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("coordinator_id", sa.String(32), nullable=False),
        sa.Column("area", sa.String(60), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("place", sa.String(500)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("team_request_id", sa.String(32)),
        sa.Column("team_name", sa.String(200)),
        sa.Column("contact_name", sa.String(200)),
        sa.Column("contact_email", sa.String(320)),
        sa.Column("about", sa.Text),
        sa.Column("booked_at", sa.DateTime()),
        sa.Column("invite_sequence", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    for column in ("coordinator_id", "area", "starts_at", "team_request_id"):
        op.create_index(f"ix_team_chats_{column}", "team_chats", [column])


def downgrade() -> None:
    for column in ("coordinator_id", "area", "starts_at", "team_request_id"):
        op.drop_index(f"ix_team_chats_{column}", "team_chats")
    op.drop_table("team_chats")
