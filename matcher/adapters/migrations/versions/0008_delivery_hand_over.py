"""deliveries: the claim's owner, the hand-over, and the sweep's last re-queue

Found by fault injection: a worker paused past its lease, or a database blip after
the SMTP server accepted an email, let the sweep send it again. A claim now carries
its owner; "handing" is committed just before the point of no return, and only the
owner may hand over; an email handed over with no answer is "possibly sent", never
sent again unless a coordinator asks. ``requeued_at`` stops the sweep queueing a
backlog again on every run.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("owner", sa.String(120)))
        batch.add_column(sa.Column("handed_at", sa.DateTime()))
        batch.add_column(sa.Column("requeued_at", sa.DateTime()))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("requeued_at")
        batch.drop_column("handed_at")
        batch.drop_column("owner")
