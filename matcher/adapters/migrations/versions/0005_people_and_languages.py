"""one live offer per email address; email lookups without case; languages a vocabulary

Revision ID: 0005
Revises: 0004

Volunteers gain ``email_key`` (the address stripped and lower-cased) with a
unique index over the live offers (status other than withdrawn): a second
sign-up under ``NADIA@example.org`` when ``nadia@example.org`` already holds
an offer is refused, while someone who withdrew may sign up afresh. Team
requests gain ``contact_email_key``, indexed but not unique (a contact may
send several requests), so a link is found again whatever the case.

Existing duplicates. Before this revision nothing stopped two live offers
under one address. Nothing is merged, withdrawn or rewritten here, since
both may hold commitments and only a coordinator can tell which to keep: the
earliest live offer of each address takes the key, and each later one keeps
its email as entered with ``email_key`` left NULL, outside the unique index.
Each such offer is logged as a warning with its id, and the application
still finds it by its address (``intake.live_volunteer_with_email``), so a
new sign-up under that address is refused too. To list them:

    SELECT id, email FROM volunteers WHERE email_key IS NULL AND status <> 'withdrawn';

Once a coordinator has withdrawn (or erased) the offers not wanted, the one
left keeps working as it is.

Languages become the ``languages`` vocabulary (ISO 639-1, or ISO 639-3 where a
language has no two-letter code, like Sylheti ``syl``), seeded from
``matcher.taxonomy`` where a code is not there yet (a fresh database has them
from 0001). Every code already stored on an offer or a request is added too,
labelled with the code itself, so no stored offer becomes invalid; an admin
coordinator can give it words or retire it (PUT /api/v1/taxonomy/languages/...).
"""

import json
import logging
from typing import Any

import sqlalchemy as sa
from alembic import op

from matcher.taxonomy import STARTING_TERMS

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
LIVE_ONLY = sa.text("status <> 'withdrawn'")


def _email_keys() -> None:
    conn = op.get_bind()
    volunteers = sa.table(
        "volunteers",
        sa.column("id", sa.String),
        sa.column("email", sa.String),
        sa.column("status", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("email_key", sa.String),
    )
    rows = conn.execute(
        sa.select(volunteers.c.id, volunteers.c.email, volunteers.c.status).order_by(
            volunteers.c.created_at, volunteers.c.id
        )
    ).all()
    live_keys: set[str] = set()
    for row in rows:
        key = row.email.strip().lower()
        if row.status != "withdrawn":
            if key in live_keys:
                log.warning(
                    "volunteer %s shares its email address with an earlier live offer: left without email_key; "
                    "a coordinator should withdraw one of them",
                    row.id,
                )
                continue
            live_keys.add(key)
        conn.execute(sa.update(volunteers).where(volunteers.c.id == row.id).values(email_key=key))
    conn.execute(sa.text("UPDATE team_requests SET contact_email_key = lower(trim(contact_email))"))


def _codes(value: Any) -> list[str]:
    # A JSON column read through a plain table: a list, or its text on some drivers.
    if isinstance(value, str):
        value = json.loads(value)
    return [c for c in value or [] if isinstance(c, str)]


def _languages() -> None:
    conn = op.get_bind()
    terms = sa.table(
        "terms",
        sa.column("vocabulary", sa.String),
        sa.column("code", sa.String),
        sa.column("label", sa.String),
        sa.column("position", sa.Integer),
        sa.column("active", sa.Boolean),
    )
    have = set(conn.execute(sa.select(terms.c.code).where(terms.c.vocabulary == "languages")).scalars())
    wanted = list(STARTING_TERMS["languages"])
    stored: set[str] = set()
    for table in ("volunteers", "team_requests"):
        for value in conn.execute(sa.select(sa.table(table, sa.column("languages", sa.JSON)).c.languages)).scalars():
            stored.update(_codes(value))
    seeded = {code for code, _ in wanted}
    wanted += [(code, code) for code in sorted(stored - seeded)]
    rows = [
        {"vocabulary": "languages", "code": code, "label": label, "position": i, "active": True}
        for i, (code, label) in enumerate(wanted)
        if code not in have
    ]
    if rows:
        op.bulk_insert(terms, rows)


def upgrade() -> None:
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_key", sa.String(length=320), nullable=True))
    with op.batch_alter_table("team_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_email_key", sa.String(length=320), nullable=True))
    _email_keys()
    op.create_index(
        "uq_volunteers_live_email_key",
        "volunteers",
        ["email_key"],
        unique=True,
        postgresql_where=LIVE_ONLY,
        sqlite_where=LIVE_ONLY,
    )
    op.create_index("ix_team_requests_contact_email_key", "team_requests", ["contact_email_key"])
    _languages()


def downgrade() -> None:
    # Before this revision languages were free two-letter codes, not a vocabulary.
    op.execute(sa.text("DELETE FROM terms WHERE vocabulary = 'languages'"))
    op.drop_index("ix_team_requests_contact_email_key", table_name="team_requests")
    op.drop_index("uq_volunteers_live_email_key", table_name="volunteers")
    with op.batch_alter_table("team_requests", schema=None) as batch_op:
        batch_op.drop_column("contact_email_key")
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.drop_column("email_key")
