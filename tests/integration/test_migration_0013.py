"""Migration 0013 on a database that already holds people, on PostgreSQL and SQLite.

Stored addresses are cleaned and keyed in the wider form; two live offers that turn out
to be one address keep working, the later one without the key (as 0005 did); nobody who
was matchable stops being matchable.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import pytest
from sqlalchemy import Engine, text

from tests.integration.test_migration_state import engine, migrate  # noqa: F401 - the fixture, by name

pytestmark = pytest.mark.integration


def add(conn, id_: str, email: str, status: str, day: int) -> None:  # type: ignore[no-untyped-def]
    empty = json.dumps([])
    conn.execute(
        text(
            "INSERT INTO volunteers (id, name, email, kind, home_area, status, roles, modes, availability,"
            " max_commitments, consent_version, consent_given_at, preferred_contact, travel_areas, experience,"
            " interests, languages, trainings, excluded_teams, created_at, updated_at, email_key) VALUES (:id, 'N',"
            " :email, 'carer', 'newham', :status, :roles, :roles, :empty, 1, '2026-01', :at, 'email', :empty,"
            " :empty, :empty, :empty, :empty, :empty, :at, :at, :key)"
        ),
        {"id": id_, "email": email, "status": status, "roles": json.dumps(["focus_group"]), "empty": empty,
         "at": datetime(2026, 1, day, 9, 0), "key": email.strip().lower()},
    )  # fmt: skip


def test_stored_addresses_are_cleaned_and_keyed_and_collisions_kept_for_a_coordinator(
    engine: Engine,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    migrate(engine, "0012")  # the parent of 0013
    with engine.begin() as conn:
        add(conn, "first", "Nadia@example.org", "active", 1)
        add(conn, "wide", "\uff4eadia@example.org", "paused", 2)  # the same person, typed on a phone
        add(conn, "gone", "nadia@exam\u200bple.org", "withdrawn", 3)
        add(conn, "sam", "sam@example.org\u200b", "active", 4)
        add(conn, "local", "x@localhost", "active", 5)
        conn.execute(
            text(
                "INSERT INTO team_requests (id, team_name, project_title, area, qi_stage, status, roles, modes,"
                " contact_name, contact_email, topics, experience_sought, meeting_slots, languages,"
                " required_trainings, created_at, updated_at, contact_email_key) VALUES ('r', 'T', 'P', 'newham',"
                " 'testing', 'open', '[]', '[]', 'Sam', :email, '[]', '[]', '[]', '[]', '[]', :at, :at, :key)"
            ),
            {"email": "\uff33am@nhs.example", "at": datetime(2026, 1, 1), "key": "\uff53am@nhs.example"},
        )

    with caplog.at_level(logging.WARNING, logger="alembic.runtime.migration"):
        migrate(engine, "head")

    with engine.connect() as conn:
        rows = {r.id: (r.email, r.email_key, r.status) for r in conn.execute(text("SELECT * FROM volunteers"))}
        contact = conn.execute(text("SELECT contact_email, contact_email_key FROM team_requests")).one()
    assert rows["first"] == ("Nadia@example.org", "nadia@example.org", "active")
    assert rows["wide"] == ("nadia@example.org", None, "paused")  # kept, for a coordinator to sort out
    assert rows["gone"] == ("nadia@example.org", "nadia@example.org", "withdrawn")
    assert rows["sam"] == ("sam@example.org", "sam@example.org", "active")
    assert rows["local"][2] == "active"  # kept; only new offers are refused
    assert tuple(contact) == ("Sam@nhs.example", "sam@nhs.example")
    logged = caplog.text
    assert "volunteer wide shares its email address" in logged and "volunteer local has an address" in logged
    assert "nadia" not in logged.lower()  # ids in the log, never addresses
