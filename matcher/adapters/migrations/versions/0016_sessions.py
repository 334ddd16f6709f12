"""The programme's sessions (introductory sessions and QI training) and their bookings

A booking holds a place, or waits in line (``queued_at``); attendance is marked on
it, by whom and on what date. Verified trainings live on the volunteer's trainings
list (``verified_on``, ``verified_by``, ``session_id``): no column changes there.

Revision ID: 0016
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "programme_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("area", sa.String(length=60), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("venue", sa.String(length=300), nullable=True),
        sa.Column("video_link", sa.String(length=500), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("training", sa.String(length=60), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_sessions")),
    )
    with op.batch_alter_table("programme_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_programme_sessions_area"), ["area"], unique=False)
        batch_op.create_index(batch_op.f("ix_programme_sessions_starts_at"), ["starts_at"], unique=False)
    op.create_table(
        "session_bookings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("volunteer_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=True),
        sa.Column("from_waiting_list", sa.Boolean(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("remind_at", sa.DateTime(), nullable=True),
        sa.Column("reminder", sa.String(length=10), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("attendance_by", sa.String(length=32), nullable=True),
        sa.Column("attendance_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["programme_sessions.id"],
            name=op.f("fk_session_bookings_session_id_programme_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_session_bookings_volunteer_id_volunteers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_bookings")),
        sa.UniqueConstraint("session_id", "volunteer_id", name="uq_session_bookings_session_volunteer"),
    )
    with op.batch_alter_table("session_bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_session_bookings_volunteer_id"), ["volunteer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_session_bookings_reminder"), ["reminder"], unique=False)


def downgrade() -> None:
    op.drop_table("session_bookings")
    op.drop_table("programme_sessions")
