"""The sessions API on the real app (SQLite): 422s naming fields with nothing stored, the
area rule, bookings and the waiting list, attendance, and the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from matcher.services import coordinators
from tests import factories


def auth(client: Any, services: Any, email: str, areas: list[str]) -> dict[str, str]:
    coordinators.create_coordinator(services.uow(), email, "a long passphrase", areas, services.clock)
    got = client.post("/api/v1/auth/token", json={"email": email, "password": "a long passphrase"})
    return {"Authorization": f"Bearer {got.json['token']}"}


def session_body(**overrides: Any) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    body = {
        "kind": "qi_introduction",
        "area": "newham",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "venue": "Stratford library, room 2",
        "capacity": 1,
        "training": "qi_introduction",
    }
    return {**body, **overrides}


def count(services: Any, table: str) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_bad_sessions_are_refused_naming_each_field_and_nothing_is_stored(app, services) -> None:
    client = app.test_client()
    lead = auth(client, services, "lead@nhs.example", ["newham"])
    bad = session_body(kind="nap", capacity=0, training="juggling", venue=None, ends_at="2020-01-01T00:00:00+00:00")
    answer = client.post("/api/v1/sessions", json=bad, headers=lead)
    assert answer.status_code == 422
    assert {"kind", "capacity", "training", "ends_at"} <= set(answer.json["errors"])
    old = session_body(starts_at="2020-01-01T10:00:00+00:00", ends_at="2020-01-01T11:00:00+00:00")
    past = client.post("/api/v1/sessions", json=old, headers=lead)
    assert past.status_code == 422 and "starts_at" in past.json["errors"]
    assert count(services, "programme_sessions") == 0
    assert client.post("/api/v1/sessions", json=session_body()).status_code == 401
    elsewhere = client.post("/api/v1/sessions", json=session_body(area="luton"), headers=lead)
    assert elsewhere.status_code == 403


def test_book_wait_move_up_and_attendance_through_the_api(app, services) -> None:
    client = app.test_client()
    lead = auth(client, services, "lead@nhs.example", ["newham"])
    other = auth(client, services, "far@nhs.example", ["luton"])
    made = client.post("/api/v1/sessions", json=session_body(), headers=lead)
    assert made.status_code == 201, made.json
    sid = made.json["id"]
    assert made.json["places_left"] == 1 and made.json["status"] == "scheduled"
    assert client.get(f"/api/v1/sessions/{sid}", headers=other).status_code == 404
    a, b = (client.post("/api/v1/volunteers", json=factories.offer(home_area="newham")).json["id"] for _ in "ab")

    first = client.post(f"/api/v1/sessions/{sid}/bookings", json={"volunteer_id": a}, headers=lead)
    second = client.post(f"/api/v1/sessions/{sid}/bookings", json={"volunteer_id": b}, headers=lead)
    assert first.status_code == 201, first.json
    assert first.json["status"] == "booked"
    assert (second.status_code, second.json["status"]) == (201, "waiting")
    again = client.post(f"/api/v1/sessions/{sid}/bookings", json={"volunteer_id": a}, headers=lead)
    assert again.status_code == 409 and "already" in again.json["message"]
    lines = client.get(f"/api/v1/sessions/{sid}/bookings", headers=lead).json
    assert [(x["volunteer_id"], x["status"], x["position"]) for x in lines] == [(a, "booked", None), (b, "waiting", 1)]

    gone = client.post(f"/api/v1/sessions/{sid}/bookings/{a}/cancel", headers=lead)
    assert gone.status_code == 200 and gone.json["status"] == "cancelled"
    moved = {x["volunteer_id"]: x for x in client.get(f"/api/v1/sessions/{sid}/bookings", headers=lead).json}
    assert moved[b]["status"] == "booked" and moved[b]["from_waiting_list"]

    early = client.post(f"/api/v1/sessions/{sid}/attendance", json={"marks": [{"volunteer_id": b, "attended": True}]},
                        headers=lead)  # fmt: skip
    assert early.status_code == 409  # not begun yet
    twice = client.post(
        f"/api/v1/sessions/{sid}/attendance",
        json={"marks": [{"volunteer_id": b, "attended": True}, {"volunteer_id": b, "attended": False}]},
        headers=lead,
    )
    assert twice.status_code == 422 and "marks" in twice.json["errors"]

    fewer = client.patch(f"/api/v1/sessions/{sid}", json={"capacity": 3, "title": "QI introduction (evening)"},
                         headers=lead)  # fmt: skip
    assert fewer.status_code == 200 and fewer.json["places_left"] == 2
    cancelled = client.post(f"/api/v1/sessions/{sid}/cancel", headers=lead)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert client.post(f"/api/v1/sessions/{sid}/cancel", headers=lead).status_code == 409
    listed = client.get("/api/v1/sessions?status=cancelled", headers=lead)
    assert [s["id"] for s in listed.json] == [sid] and listed.headers["X-Total-Count"] == "1"


def test_the_openapi_document_describes_sessions(app) -> None:
    spec = app.test_client().get("/api/openapi.json").json
    for path in (
        "/api/v1/sessions",
        "/api/v1/sessions/{session_id}",
        "/api/v1/sessions/{session_id}/bookings",
        "/api/v1/sessions/{session_id}/attendance",
    ):
        assert path in spec["paths"]
    assert "capacity" in spec["components"]["schemas"]["SessionIn"]["required"]


def test_a_volunteer_cannot_verify_their_own_training(app, services) -> None:
    offer = factories.offer(trainings=[{"code": "qi_introduction", "verified_on": "2026-01-01"}])
    answer = app.test_client().post("/api/v1/volunteers", json=offer)
    assert answer.status_code == 422 and "trainings.0.verified_on" in answer.json["errors"]
    assert count(services, "volunteers") == 0
