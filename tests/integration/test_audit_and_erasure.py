"""The audit log, a coordinator's erasure and the full export on real PostgreSQL: the
same answers as the fast tier's SQLite, through the API."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from matcher.bootstrap import Services
from matcher.services import coordinators, intake, introductions, suggestions
from tests import factories

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


def test_erasure_export_and_the_log_on_postgres(app, services: Services) -> None:
    clock, config = services.clock, services.settings.matching
    lead = coordinators.create_coordinator(services.uow(), "lead@nhs.example", PASSWORD, ["tower_hamlets"], clock)
    client = app.test_client()
    assert client.post("/api/v1/auth/token", json={"email": "lead@nhs.example", "password": "wrong"}).status_code == 401
    token = client.post("/api/v1/auth/token", json={"email": "lead@nhs.example", "password": PASSWORD}).json["token"]
    auth = {"Authorization": f"Bearer {token}"}
    v = intake.register_volunteer(services.uow(), factories.offer(name="Amina Begum", email="amina@example.org"), clock)
    r = intake.submit_request(services.uow(), factories.team_request(), clock)
    suggestions.suggest_for_request(services.uow(), r.id, config, clock)
    with services.uow() as uow:
        match_id = uow.matches.where(team_request_id=r.id)[0].id
    assert client.post(f"/api/v1/matches/{match_id}/approve", headers=auth).status_code == 200
    assert introductions.send_introductions(
        services.uow(), services.mailer, services.letters, match_id, clock, config, 60
    )

    export = client.get(f"/api/v1/volunteers/{v.id}/export", headers=auth)
    assert export.status_code == 200, export.json
    assert [s["match_id"] for s in export.json["suggestions"]] == [match_id]
    assert export.json["suggestions"][0]["factors"]
    assert [(e["kind"], e["status"]) for e in export.json["emails"]] == [("introduction", "sent")]

    assert client.post(f"/api/v1/volunteers/{v.id}/erase", headers=auth).status_code == 200
    again = client.post(f"/api/v1/volunteers/{v.id}/erase", headers=auth)
    assert again.status_code == 409 and "erased already" in again.json["message"]

    log = client.get("/api/v1/audit", headers=auth)
    assert [(e["action"], e["subject_id"]) for e in log.json] == [
        ("volunteer.erase", v.id),
        ("volunteer.export", v.id),
        ("match.approve", match_id),
        ("sign_in", lead.id),
        ("sign_in_failed", lead.id),
    ]
    assert log.json[-1]["attempted_email"] == "lead@nhs.example" and log.json[-1]["coordinator_id"] is None
    assert services.engine is not None
    with services.engine.connect() as conn:
        held = str(conn.execute(text("select * from audit_entries")).all())
    assert "Amina" not in held and "amina@example.org" not in held and "wrong" not in held
