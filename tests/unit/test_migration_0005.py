"""Migration 0005 on a database that already holds people (SQLite file, as the embedded default)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from matcher.adapters.migrate import alembic_config


def _volunteer(conn, id_: str, email: str, status: str, created: str, languages: list[str]) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO volunteers (id, name, email, kind, home_area, status, roles, modes, availability,"
            " max_commitments, consent_version, consent_given_at, preferred_contact, travel_areas, experience,"
            " interests, languages, trainings, excluded_teams, created_at, updated_at) VALUES (:id, 'N', :email,"
            " 'carer', 'newham', :status, '[\"focus_group\"]', '[\"video\"]', '[]', 1, '2026-01', :at, 'email',"
            " '[]', '[]', '[]', :languages, '[]', '[]', :at, :at)"
        ),
        {"id": id_, "email": email, "status": status, "at": created, "languages": json.dumps(languages)},
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'qimatch.db'}"


def test_existing_duplicates_are_kept_and_only_the_earliest_live_one_takes_the_address(db: str) -> None:
    command.upgrade(alembic_config(db), "0003")
    engine = create_engine(db)
    with engine.begin() as conn:
        _volunteer(conn, "gone", "nadia@example.org", "withdrawn", "2026-01-01 09:00:00", [])
        _volunteer(conn, "first", "NADIA@example.org", "active", "2026-01-02 09:00:00", ["bn"])
        _volunteer(conn, "second", "nadia@example.org ", "paused", "2026-01-03 09:00:00", ["de"])
        _volunteer(conn, "other", "sam@example.org", "active", "2026-01-04 09:00:00", [])

    # 0005 itself: 0013 later cleans stored addresses (tests/unit/test_migration_0013.py).
    command.upgrade(alembic_config(db), "0005")

    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, email_key FROM volunteers")).all())
        emails = dict(conn.execute(text("SELECT id, email FROM volunteers")).all())
    assert rows == {
        "gone": "nadia@example.org",
        "first": "nadia@example.org",
        "second": None,  # kept, as entered, for a coordinator to sort out
        "other": "sam@example.org",
    }
    assert emails["first"] == "NADIA@example.org" and emails["second"] == "nadia@example.org "
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _volunteer(conn, "third", "x", "active", "2026-02-01 09:00:00", [])
        conn.execute(text("UPDATE volunteers SET email_key = 'nadia@example.org' WHERE id = 'third'"))


def test_languages_become_a_vocabulary_that_keeps_every_stored_code(db: str) -> None:
    command.upgrade(alembic_config(db), "0003")
    engine = create_engine(db)
    with engine.begin() as conn:
        # As in a database made before languages were a vocabulary (0001 seeds today's list).
        conn.execute(text("DELETE FROM terms WHERE vocabulary = 'languages'"))
        _volunteer(conn, "v", "v@example.org", "active", "2026-01-02 09:00:00", ["bn", "qq"])

    command.upgrade(alembic_config(db), "head")

    with engine.connect() as conn:
        terms = dict(conn.execute(text("SELECT code, label FROM terms WHERE vocabulary = 'languages'")).all())
    assert terms["syl"] == "Sylheti" and terms["bn"] == "Bengali" and terms["en"] == "English"
    assert terms["qq"] == "qq"  # a stored code stays valid; an admin can give it words
    command.downgrade(alembic_config(db), "0003")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM terms WHERE vocabulary = 'languages'")).scalar_one() == 0
