"""The OpenAPI document describes every answer the API gives, not only what it takes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

METHODS = {"get", "put", "post", "patch", "delete"}


def test_every_operation_declares_its_success_answer_with_a_schema(app) -> None:
    spec = app.test_client().get("/api/openapi.json").json
    undescribed = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            successes = {code: r for code, r in operation.get("responses", {}).items() if code.startswith("2")}
            described = any(
                code == "204" or any(c.get("schema") for c in r.get("content", {}).values())
                for code, r in successes.items()
            )
            if not described:
                undescribed.append(f"{method.upper()} {path}")
    assert undescribed == [], f"no success schema: {undescribed}"


def test_a_request_and_a_match_come_back_as_the_document_describes_them(app, services) -> None:
    from matcher.services import coordinators
    from tests import factories

    client = app.test_client()
    coordinators.create_coordinator(services.uow(), "lead@nhs.example", "a long passphrase", ["newham"], services.clock)
    token = client.post("/api/v1/auth/token", json={"email": "lead@nhs.example", "password": "a long passphrase"})
    auth = {"Authorization": f"Bearer {token.json['token']}"}
    request_id = client.post("/api/v1/team-requests", json=factories.team_request(area="newham")).json["id"]
    volunteer_id = client.post("/api/v1/volunteers", json=factories.offer(home_area="newham")).json["id"]
    made = client.post(
        "/api/v1/matches",
        json={"team_request_id": request_id, "volunteer_id": volunteer_id, "role": "focus_group"},
        headers=auth,
    )
    assert made.status_code == 201, made.json
    schemas = client.get("/api/openapi.json").json["components"]["schemas"]

    request = client.get(f"/api/v1/team-requests/{request_id}", headers=auth).json
    assert set(request) == set(schemas["TeamRequestOut"]["properties"])
    assert request["contact"]["name"] and [m["id"] for m in request["matches"]] == [made.json["id"]]
    match = client.get(f"/api/v1/matches/{made.json['id']}", headers=auth).json
    assert set(match) == set(schemas["MatchDetailOut"]["properties"])
    assert match["status"] == "approved"
    assert [e["kind"] for e in match["timeline"]] == ["match.created", "match.approved"]
    why = client.get(f"/api/v1/team-requests/{request_id}/why-not?volunteer_id={volunteer_id}", headers=auth).json
    assert set(why) == set(schemas["WhyNotOut"]["properties"])
    assert why["roles"]["focus_group"][0]["rule"] == "already_matched" and not why["eligible"]
