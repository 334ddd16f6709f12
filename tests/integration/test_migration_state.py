"""Migration 0006 keeps what the old code inferred: a pause's end date and an erasure."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, text

from matcher.adapters.migrate import alembic_config
from tests.real_parts import PG_ADMIN_URL, ensure_postgres

pytestmark = pytest.mark.integration
WHEN = datetime(2026, 3, 2, 9, 0)


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'qimatch.db'}")
        yield engine
        engine.dispose()
        return
    ensure_postgres()
    name = f"qimatch_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def migrate(engine: Engine, to: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, to)


def add_volunteer(conn, volunteer_id: str, name: str, status: str) -> None:  # type: ignore[no-untyped-def]
    empty = json.dumps([])
    conn.execute(
        text(
            "INSERT INTO volunteers (id, name, email, kind, home_area, status, roles, modes, availability,"
            " max_commitments, consent_version, consent_given_at, preferred_contact, travel_areas, experience,"
            " interests, languages, trainings, excluded_teams, created_at, updated_at) VALUES (:id, :name,"
            " :email, 'carer', 'newham', :status, :roles, :roles, :empty, 1, '2026-01', :at, 'email', :empty,"
            " :empty, :empty, :empty, :empty, :empty, :at, :at)"
        ),
        {"id": volunteer_id, "name": name, "email": f"{volunteer_id}@example.org", "status": status,
         "roles": json.dumps(["focus_group"]), "empty": empty, "at": WHEN},
    )  # fmt: skip


def add_event(conn, kind: str, volunteer_id: str, data: dict, at: datetime = WHEN) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text("INSERT INTO events (kind, occurred_at, volunteer_id, data) VALUES (:kind, :at, :v, :data)"),
        {"kind": kind, "at": at, "v": volunteer_id, "data": json.dumps(data)},
    )


# 0005 is 0006's parent; from 0003 the rows also pass through 0004 and 0005 on the way.
@pytest.mark.parametrize("start", ["0005", "0003"])
def test_a_pause_date_and_an_erasure_survive_the_migration(engine: Engine, start: str) -> None:
    migrate(engine, start)
    with engine.begin() as conn:
        add_volunteer(conn, "paused", "Amina Begum", "paused")
        add_event(conn, "volunteer.paused", "paused", {"until": "2026-04-01"})
        add_event(conn, "volunteer.paused", "paused", {"until": "2026-05-01"})  # the latest pause counts
        add_volunteer(conn, "resumed", "Bob Jones", "active")
        add_event(conn, "volunteer.paused", "resumed", {"until": "2026-04-01"})
        add_volunteer(conn, "erased", "Erased volunteer", "withdrawn")
        add_event(conn, "volunteer.erased", "erased", {}, datetime(2026, 3, 5, 12, 0))
        add_volunteer(conn, "withdrew", "Chris Far", "withdrawn")
    migrate(engine, "head")
    with engine.connect() as conn:
        rows = {
            r.id: (r.paused_until, r.erased_at)
            for r in conn.execute(text("SELECT id, paused_until, erased_at FROM volunteers"))
        }

    def day(value: object) -> object:
        return date.fromisoformat(value) if isinstance(value, str) else value  # SQLite gives text

    def moment(value: object) -> object:
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    assert day(rows["paused"][0]) == date(2026, 5, 1) and rows["paused"][1] is None
    assert rows["resumed"] == (None, None)  # an old pause of someone active again is over
    assert moment(rows["erased"][1]) == datetime(2026, 3, 5, 12, 0) and rows["erased"][0] is None
    assert rows["withdrew"] == (None, None)  # withdrawn, but never erased
