"""payments: preferences and caps, rates, activities, payable lines and finance exports

Money is integer pence. A line is exported once: ``payment_lines.export_id`` holds one
export's id, and an activity is paid once (``activity_id`` unique).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_accounts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("preference", sa.String(length=20), nullable=False),
        sa.Column("cap_week_pence", sa.Integer(), nullable=True),
        sa.Column("cap_four_weeks_pence", sa.Integer(), nullable=True),
        sa.Column("cap_tax_year_pence", sa.Integer(), nullable=True),
        sa.Column("four_weeks_from", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("updated_by", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["id"], ["volunteers.id"], name=op.f("fk_payment_accounts_id_volunteers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_accounts")),
    )
    op.create_table(
        "payment_rates",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("activity_type", sa.String(length=40), nullable=False),
        sa.Column("pence", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_rates")),
        sa.UniqueConstraint("activity_type", "effective_from", name="uq_payment_rates_type_from"),
    )
    op.create_table(
        "activities",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("volunteer_id", sa.String(length=32), nullable=False),
        sa.Column("area", sa.String(length=60), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("activity_type", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.Column("match_id", sa.String(length=32), nullable=True),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_activities_volunteer_id_volunteers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activities_volunteer_id"), ["volunteer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_activities_area"), ["area"], unique=False)
    op.create_table(
        "finance_exports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("made_by", sa.String(length=32), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("total_pence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_exports")),
    )
    with op.batch_alter_table("finance_exports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finance_exports_month"), ["month"], unique=False)
    op.create_table(
        "payment_lines",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("volunteer_id", sa.String(length=32), nullable=False),
        sa.Column("area", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("pence", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("activity_id", sa.String(length=32), nullable=True),
        sa.Column("activity_type", sa.String(length=40), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("rate_id", sa.String(length=32), nullable=True),
        sa.Column("rate_pence", sa.Integer(), nullable=True),
        sa.Column("rate_basis", sa.String(length=20), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.Column("receipt_held", sa.Boolean(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("hold_reason", sa.String(length=20), nullable=True),
        sa.Column("over_by_pence", sa.Integer(), nullable=True),
        sa.Column("first_approved_by", sa.String(length=32), nullable=True),
        sa.Column("approved_by", sa.String(length=32), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("export_id", sa.String(length=32), nullable=True),
        sa.Column("payee_name", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_payment_lines_volunteer_id_volunteers")
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"], ["activities.id"], name=op.f("fk_payment_lines_activity_id_activities")
        ),
        sa.ForeignKeyConstraint(
            ["export_id"], ["finance_exports.id"], name=op.f("fk_payment_lines_export_id_finance_exports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_lines")),
        sa.UniqueConstraint("activity_id", name=op.f("uq_payment_lines_activity_id")),
    )
    with op.batch_alter_table("payment_lines", schema=None) as batch_op:
        for column in ("volunteer_id", "area", "on", "status", "export_id"):
            batch_op.create_index(batch_op.f(f"ix_payment_lines_{column}"), [column], unique=False)


def downgrade() -> None:
    op.drop_table("payment_lines")
    op.drop_table("finance_exports")
    op.drop_table("activities")
    op.drop_table("payment_rates")
    op.drop_table("payment_accounts")
