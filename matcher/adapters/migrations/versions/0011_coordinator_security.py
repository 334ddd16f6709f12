"""Coordinator accounts: a TOTP second factor, deactivation, named API tokens

coordinators.totp_secret / totp_last_step hold the authenticator's shared secret and
the last step whose code was accepted (so a code is never replayed); coordinators.active
lets an admin end an account. API tokens become access_tokens rows (purpose
coordinator_api) so they can be listed and revoked; access_tokens.label names them.

Coordinators from before have no TOTP secret: with QIMATCH_REQUIRE_TOTP on they enrol
with ``qimatch reset-totp --email …``.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("coordinators") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()))
    with op.batch_alter_table("access_tokens") as batch:
        batch.add_column(sa.Column("label", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("access_tokens") as batch:
        batch.drop_column("label")
    with op.batch_alter_table("coordinators") as batch:
        batch.drop_column("active")
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
