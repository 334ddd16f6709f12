"""outreach_events, meeting_suggestions; volunteers.source_event_id and consent_assisted_by

Outreach events (stalls, community meetings, talks) each have a public sign-up code,
and an offer made through it names the event as its source. An offer a coordinator
entered in person records who took the consent.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outreach_events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("area", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("recorded_by", sa.String(32), nullable=False),
        sa.Column("people_reached", sa.Integer),
        sa.Column("notes", sa.Text),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("code", name="uq_outreach_events_code"),
    )
    op.create_index("ix_outreach_events_area", "outreach_events", ["area"])
    op.create_table(
        "meeting_suggestions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("meeting", sa.String(200), nullable=False),
        sa.Column("area", sa.String(60), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("why", sa.Text),
        sa.Column("contact_email", sa.String(320)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("handled_at", sa.DateTime()),
        sa.Column("handled_by", sa.String(32)),
    )
    op.create_index("ix_meeting_suggestions_area", "meeting_suggestions", ["area"])
    with op.batch_alter_table("volunteers") as batch:
        batch.add_column(sa.Column("source_event_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("consent_assisted_by", sa.String(32), nullable=True))
        batch.create_index("ix_volunteers_source_event_id", ["source_event_id"])
        batch.create_foreign_key(
            "fk_volunteers_source_event_id_outreach_events", "outreach_events", ["source_event_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("volunteers") as batch:
        batch.drop_constraint("fk_volunteers_source_event_id_outreach_events", type_="foreignkey")
        batch.drop_index("ix_volunteers_source_event_id")
        batch.drop_column("consent_assisted_by")
        batch.drop_column("source_event_id")
    op.drop_index("ix_meeting_suggestions_area", "meeting_suggestions")
    op.drop_table("meeting_suggestions")
    op.drop_index("ix_outreach_events_area", "outreach_events")
    op.drop_table("outreach_events")
