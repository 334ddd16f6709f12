"""Migration 0015 on PostgreSQL and SQLite: chats held before it ask no feedback afterwards,
chats still to come will, and every coordinator keeps a digest at 08:00."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from tests.integration.test_migration_state import WHEN, add_volunteer, engine, migrate  # noqa: F401 - engine: a fixture

pytestmark = pytest.mark.integration


def test_old_chats_are_marked_asked_and_coordinators_get_a_digest_time(engine: Engine) -> None:  # noqa: F811
    migrate(engine, "0010")
    now = datetime.now(UTC).replace(tzinfo=None)
    empty = json.dumps([])
    with engine.begin() as conn:
        add_volunteer(conn, "v1", "Amina Begum", "active")
        conn.execute(
            text(
                "INSERT INTO team_requests (id, team_name, project_title, area, qi_stage, status, roles, modes,"
                " contact_name, contact_email, topics, experience_sought, meeting_slots, languages,"
                " required_trainings, created_at, updated_at) VALUES ('r1', 'Ward 5', 'Fewer restraints',"
                " 'newham', 'testing', 'open', :roles, :modes, 'Sam', 'sam@nhs.example', :e, :e, :e, :e, :e, :at, :at)"
            ),
            {"roles": json.dumps([{"role": "focus_group", "count": 1}]), "modes": json.dumps(["video"]),
             "e": empty, "at": WHEN},
        )  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO matches (id, team_request_id, volunteer_id, role, status, origin, proposed, rank, score,"
                " factors, created_at, updated_at) VALUES ('m1', 'r1', 'v1', 'focus_group', 'introduced', 'engine',"
                " :yes, 0, 0.5, :f, :at, :at)"
            ),
            {"yes": True, "f": json.dumps({}), "at": WHEN},
        )
        for fid, seq, due in (("held", 1, now - timedelta(days=3)), ("ahead", 2, now + timedelta(days=30))):
            conn.execute(
                text(
                    "INSERT INTO follow_ups (id, match_id, sequence, due_at, status, created_at)"
                    " VALUES (:id, 'm1', :seq, :due, 'invited', :at)"
                ),
                {"id": fid, "seq": seq, "due": due, "at": WHEN},
            )
        conn.execute(
            text(
                "INSERT INTO coordinators (id, email, password_hash, areas, created_at)"
                " VALUES ('c1', 'lead@nhs.example', 'x', :areas, :at)"
            ),
            {"areas": json.dumps(["newham"]), "at": WHEN},
        )
    migrate(engine, "head")
    with engine.connect() as conn:
        marked = dict(conn.execute(text("SELECT id, feedback_at FROM follow_ups")).all())
        times = conn.execute(text("SELECT digest_time FROM coordinators")).scalars().all()
        tables = {
            name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar()
            for name in ("feedback_forms", "feedback_answers", "digests")
        }
    assert marked["held"] is not None and marked["ahead"] is None
    assert times == ["08:00"]
    assert tables == {"feedback_forms": 0, "feedback_answers": 0, "digests": 0}
