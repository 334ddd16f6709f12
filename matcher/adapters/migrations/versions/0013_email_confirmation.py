"""email confirmation: who vouched for a volunteer's address; addresses compared in one form

Revision ID: 0013
Revises: 0012

Volunteers gain ``email_confirmed_at`` and ``email_confirmed_by`` ("link": the
person opened their private link; "not_asked": QIMATCH_CONFIRM_EMAILS was off;
else the id of the coordinator who entered the offer). A new status,
``unconfirmed``, holds anonymous offers until then; offers from before this
revision keep their status (and no confirmation record), so nobody stops being
matched by the upgrade.

Addresses are compared in a wider form now (``matcher.addresses.normalise``:
Unicode NFKC, invisible characters removed, lower-cased), so the stored ones are
cleaned (NFKC, invisible characters removed: the address mail goes to) and their
keys computed again. Collisions: two live offers whose addresses differed only
by width or invisible characters are one person. As in 0005, nothing is merged
or withdrawn here: the earliest live offer takes the key, each later one keeps
its email with ``email_key`` left NULL, logged as a warning with its id (the
application still finds it by its address). To list them:

    SELECT id, email FROM volunteers WHERE email_key IS NULL AND status <> 'withdrawn'
      AND erased_at IS NULL;

Stored addresses that new offers would now refuse (mixed alphabets, local-only
domains) are kept, and logged by id for a coordinator to check.
"""

import logging

import sqlalchemy as sa
from alembic import op

from matcher import addresses

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def _volunteers() -> None:
    conn = op.get_bind()
    v = sa.table(
        "volunteers",
        sa.column("id", sa.String),
        sa.column("email", sa.String),
        sa.column("status", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("erased_at", sa.DateTime),
        sa.column("email_key", sa.String),
    )
    rows = conn.execute(
        sa.select(v.c.id, v.c.email, v.c.status, v.c.email_key)
        .where(v.c.erased_at.is_(None))
        .order_by(v.c.created_at, v.c.id)
    ).all()
    # Live keys are let go first, then handed out oldest first: no row takes a key another
    # still holds on the way (the unique index over live offers is checked row by row).
    live = [r for r in rows if r.status != "withdrawn"]
    if live:
        conn.execute(sa.update(v).where(v.c.id.in_([r.id for r in live])).values(email_key=None))
    taken: set[str] = set()
    for row in rows:
        key = addresses.normalise(row.email)
        stored_key: str | None = key
        if row.status != "withdrawn":
            if key in taken:
                log.warning(
                    "volunteer %s shares its email address with an earlier live offer once width and invisible"
                    " characters are ignored: left without email_key; a coordinator should withdraw one of them",
                    row.id,
                )
                stored_key = None
            taken.add(key)
            reason = addresses.refusal(row.email)
            if reason:
                log.warning("volunteer %s has an address a new offer could not use (%s): kept", row.id, reason)
        cleaned = addresses.clean(row.email)
        if (cleaned, stored_key) != (row.email, row.email_key) or row.status != "withdrawn":
            conn.execute(sa.update(v).where(v.c.id == row.id).values(email=cleaned, email_key=stored_key))


def _team_requests() -> None:
    conn = op.get_bind()
    t = sa.table(
        "team_requests",
        sa.column("id", sa.String),
        sa.column("contact_email", sa.String),
        sa.column("contact_email_key", sa.String),
    )
    for row in conn.execute(sa.select(t.c.id, t.c.contact_email, t.c.contact_email_key)).all():
        cleaned, key = addresses.clean(row.contact_email), addresses.normalise(row.contact_email)
        if (cleaned, key) != (row.contact_email, row.contact_email_key):
            conn.execute(sa.update(t).where(t.c.id == row.id).values(contact_email=cleaned, contact_email_key=key))


def upgrade() -> None:
    with op.batch_alter_table("volunteers") as batch:
        batch.add_column(sa.Column("email_confirmed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("email_confirmed_by", sa.String(length=32), nullable=True))
    _volunteers()
    _team_requests()


def downgrade() -> None:
    # Keys stay in the wider form (the older one is a part of it). Offers still unconfirmed
    # keep that status: the older code never matches a status it does not know.
    with op.batch_alter_table("volunteers") as batch:
        batch.drop_column("email_confirmed_by")
        batch.drop_column("email_confirmed_at")
