"""Feedback after follow-up chats, and the coordinators' daily digest

- ``feedback_forms``: one side's form after one chat, and the due row of its one reminder
  (unique per chat and side, so two dispatchers never ask twice);
- ``feedback_answers``: what was answered, one per form (a unique key: answered once);
  the free text lives here, where erasure clears it, never in an event;
- ``digests``: a coordinator's digest for one day (unique per coordinator and day);
- ``follow_ups.feedback_at``: when the forms for a chat were owed;
- ``coordinators.digest_time``: "HH:MM" on the London clock, NULL when turned off.

Chats held before this migration are marked as done, so the first dispatcher run does
not send forms about months-old chats.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

# Naive UTC, as the store's UTCDateTime writes it.
TZ = sa.DateTime()

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follow_ups") as batch:
        batch.add_column(sa.Column("feedback_at", TZ, nullable=True))
    with op.batch_alter_table("coordinators") as batch:
        batch.add_column(sa.Column("digest_time", sa.String(5), nullable=True, server_default="08:00"))
    op.execute("UPDATE coordinators SET digest_time = '08:00'")
    # Chats already held: no forms about them now (the feedback loop starts from here on).
    utc_now = "(now() AT TIME ZONE 'utc')" if op.get_bind().dialect.name == "postgresql" else "CURRENT_TIMESTAMP"
    op.execute(f"UPDATE follow_ups SET feedback_at = due_at WHERE due_at < {utc_now}")

    op.create_table(
        "feedback_forms",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("follow_up_id", sa.String(32), sa.ForeignKey("follow_ups.id"), nullable=False),
        sa.Column("match_id", sa.String(32), sa.ForeignKey("matches.id"), nullable=False),
        sa.Column("party", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("asked_at", TZ, nullable=False),
        sa.Column("remind_at", TZ, nullable=False),
        sa.Column("reminded_at", TZ),
        sa.Column("answered_at", TZ),
        sa.PrimaryKeyConstraint("id", name="pk_feedback_forms"),
        sa.UniqueConstraint("follow_up_id", "party", name="uq_feedback_forms_follow_up_party"),
    )
    op.create_index("ix_feedback_forms_match_id", "feedback_forms", ["match_id"])
    op.create_index("ix_feedback_forms_status", "feedback_forms", ["status"])
    op.create_index("ix_feedback_forms_remind_at", "feedback_forms", ["remind_at"])

    op.create_table(
        "feedback_answers",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("form_id", sa.String(32), sa.ForeignKey("feedback_forms.id"), nullable=False),
        sa.Column("match_id", sa.String(32), sa.ForeignKey("matches.id"), nullable=False),
        sa.Column("party", sa.String(20), nullable=False),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("wants_call", sa.Boolean, nullable=False),
        sa.Column("wants_stop", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("answered_at", TZ, nullable=False),
        sa.Column("handled_at", TZ),
        sa.Column("handled_by", sa.String(32)),
        sa.PrimaryKeyConstraint("id", name="pk_feedback_answers"),
        sa.UniqueConstraint("form_id", name="uq_feedback_answers_form_id"),
    )
    op.create_index("ix_feedback_answers_match_id", "feedback_answers", ["match_id"])
    op.create_index("ix_feedback_answers_answered_at", "feedback_answers", ["answered_at"])

    op.create_table(
        "digests",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("coordinator_id", sa.String(32), sa.ForeignKey("coordinators.id"), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("since", TZ, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("done_at", TZ),
        sa.PrimaryKeyConstraint("id", name="pk_digests"),
        sa.UniqueConstraint("coordinator_id", "day", name="uq_digests_coordinator_day"),
    )
    op.create_index("ix_digests_due_at", "digests", ["due_at"])
    op.create_index("ix_digests_status", "digests", ["status"])


def downgrade() -> None:
    op.drop_table("digests")
    op.drop_table("feedback_answers")
    op.drop_table("feedback_forms")
    with op.batch_alter_table("coordinators") as batch:
        batch.drop_column("digest_time")
    with op.batch_alter_table("follow_ups") as batch:
        batch.drop_column("feedback_at")
