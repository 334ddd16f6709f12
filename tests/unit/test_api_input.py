"""Bad input gets a clear error naming the field, and nothing is stored (the fast tier: the real app on SQLite)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from matcher.bootstrap import Services
from matcher.services import coordinators
from tests import factories


def without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


OFFER, REQUEST = factories.offer, factories.team_request
MALFORMED: list[tuple[str, str, dict[str, Any], str]] = [
    # (what is wrong, path, body, the field the error must name)
    ("name missing", "volunteers", without(OFFER(), "name"), "name"),
    ("email not an email", "volunteers", OFFER(email="not-an-email"), "email"),
    ("kind unknown", "volunteers", OFFER(kind="doctor"), "kind"),
    ("area code unknown", "volunteers", OFFER(home_area="atlantis"), "home_area"),
    ("no roles", "volunteers", OFFER(roles=[]), "roles"),
    ("role code unknown", "volunteers", OFFER(roles=["juggler"]), "roles.0"),
    ("modes wrong type", "volunteers", OFFER(modes="video"), "modes"),
    ("no availability", "volunteers", OFFER(availability=[]), "availability"),
    (
        "inverted time range",
        "volunteers",
        OFFER(availability=[{"day": "mon", "start": "17:00", "end": "09:00"}]),
        "availability.0.end",
    ),
    (
        "time not HH:MM",
        "volunteers",
        OFFER(availability=[{"day": "mon", "start": "9am", "end": "17:00"}]),
        "availability.0.start",
    ),
    (
        "day code unknown",
        "volunteers",
        OFFER(availability=[{"day": "someday", "start": "09:00", "end": "10:00"}]),
        "availability.0.day",
    ),
    ("capacity too high", "volunteers", OFFER(max_commitments=9), "max_commitments"),
    ("capacity a string", "volunteers", OFFER(max_commitments="2"), "max_commitments"),
    (
        "consent false",
        "volunteers",
        OFFER(consent={"data_processing": False, "version": "2026-01"}),
        "consent.data_processing",
    ),
    ("consent missing", "volunteers", without(OFFER(), "consent"), "consent"),
    ("oversized access needs", "volunteers", OFFER(access_needs="x" * 5000), "access_needs"),
    ("unknown field", "volunteers", OFFER(favourite_colour="blue"), "favourite_colour"),
    ("phone wanted but none", "volunteers", OFFER(preferred_contact="phone"), "phone"),
    ("language not ISO 639-1", "volunteers", OFFER(languages=["english"]), "languages.0"),
    ("training code unknown", "volunteers", OFFER(trainings=[{"code": "karate"}]), "trainings.0.code"),
    ("team name missing", "team-requests", without(REQUEST(), "team_name"), "team_name"),
    ("stage unknown", "team-requests", REQUEST(qi_stage="finished"), "qi_stage"),
    ("role count zero", "team-requests", REQUEST(roles=[{"role": "focus_group", "count": 0}]), "roles.0.count"),
    (
        "role listed twice",
        "team-requests",
        REQUEST(roles=[{"role": "focus_group", "count": 1}, {"role": "focus_group", "count": 2}]),
        "roles",
    ),
    ("contact email bad", "team-requests", REQUEST(contact={"name": "Sam", "email": "sam"}), "contact.email"),
    (
        "meeting slot inverted",
        "team-requests",
        REQUEST(meeting_slots=[{"day": "tue", "start": "15:00", "end": "14:00"}]),
        "meeting_slots.0.end",
    ),
    ("start date not a date", "team-requests", REQUEST(start_date="next week"), "start_date"),
    ("oversized title", "team-requests", REQUEST(project_title="t" * 301), "project_title"),
    ("unknown field", "team-requests", REQUEST(budget=100), "budget"),
    ("body not an object", "team-requests", [], "body"),  # type: ignore[list-item]
    ("NUL character in a name", "volunteers", OFFER(name="Amina\x00"), "name"),
    ("blank name", "volunteers", OFFER(name="   "), "name"),
    ("slot of the wrong type", "volunteers", OFFER(availability=[5]), "availability.0"),
    ("blank project title", "team-requests", REQUEST(project_title=" "), "project_title"),
    ("video link not a web address", "team-requests", REQUEST(video_link="javascript:alert(1)"), "video_link"),
    ("oversized venue", "team-requests", REQUEST(venue="v" * 301), "venue"),
]


def row_counts(services: Services) -> tuple[int, ...]:
    assert services.engine is not None
    with services.engine.connect() as conn:
        return tuple(
            conn.execute(text(f"select count(*) from {table}")).scalar_one()
            for table in ("volunteers", "team_requests", "matches", "events")
        )


@pytest.mark.parametrize(("what", "path", "body", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_submission_is_refused_naming_its_field(app, services, what, path, body, field) -> None:
    client = app.test_client()
    before = row_counts(services)
    response = client.post(f"/api/v1/{path}", json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json["errors"]
    assert all(isinstance(m, str) and m for m in response.json["errors"][field])
    assert row_counts(services) == before


def test_every_bad_field_is_named_at_once(app) -> None:
    body = factories.offer(email="nope", roles=[], max_commitments=0, zzz=1)
    errors = app.test_client().post("/api/v1/volunteers", json=body).json["errors"]
    assert {"email", "roles", "max_commitments", "zzz"} <= set(errors)


def test_malformed_json_oversized_body_and_wrong_method(app, services) -> None:
    client = app.test_client()
    before = row_counts(services)
    bad = client.post("/api/v1/volunteers", data="{not json", content_type="application/json")
    assert bad.status_code == 400 and "JSON" in bad.json["message"]
    huge = client.post("/api/v1/volunteers", data="x" * (300 * 1024), content_type="application/json")
    assert huge.status_code == 413 and huge.json["message"]
    assert client.delete("/api/v1/volunteers").status_code == 405
    for body in ('{"name": ' + "9" * 5000 + "}", "[" * 100_000 + "]" * 100_000):
        response = client.post("/api/v1/volunteers", data=body, content_type="application/json")
        assert response.status_code == 400 and "JSON" in response.json["message"]
    assert row_counts(services) == before


def test_a_good_offer_is_stored_and_only_coordinators_can_read_it(app, services) -> None:
    client = app.test_client()
    response = client.post("/api/v1/volunteers", json=factories.offer(home_area="newham"))
    assert response.status_code == 201
    assert set(response.json) == {"id", "status"}  # nothing personal echoed to an anonymous caller
    volunteer_id = response.json["id"]
    assert client.get(f"/api/v1/volunteers/{volunteer_id}").status_code == 401
    assert client.get("/api/v1/volunteers", headers={"Authorization": "Bearer forged"}).status_code == 401

    def token(email: str, areas: list[str]) -> dict[str, str]:
        coordinators.create_coordinator(services.uow(), email, "a long passphrase", areas, services.clock)
        got = client.post("/api/v1/auth/token", json={"email": email, "password": "a long passphrase"})
        assert got.status_code == 200 and got.json["expires_at"]
        return {"Authorization": f"Bearer {got.json['token']}"}

    newham, luton = token("newham@nhs.example", ["newham"]), token("luton@nhs.example", ["luton"])
    assert (
        client.post("/api/v1/auth/token", json={"email": "newham@nhs.example", "password": "wrong"}).status_code == 401
    )
    shown = client.get(f"/api/v1/volunteers/{volunteer_id}", headers=newham)
    assert shown.status_code == 200 and shown.json["home_area"] == "newham"
    assert client.get(f"/api/v1/volunteers/{volunteer_id}", headers=luton).status_code == 404
    assert [v["id"] for v in client.get("/api/v1/volunteers", headers=newham).json] == [volunteer_id]
    assert client.get("/api/v1/volunteers", headers=luton).json == []
    assert client.get("/api/v1/volunteers?area=newham", headers=luton).status_code == 403

    paused = client.patch(f"/api/v1/volunteers/{volunteer_id}", json={"status": "paused"}, headers=newham)
    assert paused.status_code == 200 and paused.json["status"] == "paused"
    refused = client.patch(f"/api/v1/volunteers/{volunteer_id}", json={"status": "asleep"}, headers=newham)
    assert refused.status_code == 422 and "status" in refused.json["errors"]


def test_the_openapi_document_comes_from_the_same_schemas(app) -> None:
    client = app.test_client()
    spec = client.get("/api/openapi.json").json
    assert {"/api/v1/volunteers", "/api/v1/team-requests", "/api/v1/matches/{match_id}/approve"} <= set(spec["paths"])
    volunteer_in = spec["components"]["schemas"]["VolunteerIn"]
    assert {"name", "email", "consent", "availability"} <= set(volunteer_in["required"])
    assert client.get("/api/docs").status_code == 200


def test_vocabularies_are_data_that_a_coordinator_edits(app, services) -> None:
    client = app.test_client()
    assert "peer_support" not in {r["code"] for r in client.get("/api/v1/taxonomy").json["roles"]}

    def auth_for(email: str, admin: bool) -> dict[str, str]:
        coordinators.create_coordinator(
            services.uow(), email, "a long passphrase", ["newham"], services.clock, admin=admin
        )
        token = client.post("/api/v1/auth/token", json={"email": email, "password": "a long passphrase"}).json
        return {"Authorization": f"Bearer {token['token']}"}

    lead, auth = auth_for("lead@nhs.example", False), auth_for("admin@nhs.example", True)
    refused = client.put("/api/v1/taxonomy/roles/peer_support", json={"label": "Peer support worker"}, headers=lead)
    assert refused.status_code == 403
    too_long = client.put(f"/api/v1/taxonomy/roles/{'x' * 61}", json={"label": "Too long"}, headers=auth)
    assert too_long.status_code == 422 and "code" in too_long.json["errors"]
    added = client.put("/api/v1/taxonomy/roles/peer_support", json={"label": "Peer support worker"}, headers=auth)
    assert added.status_code == 200
    assert "peer_support" in {r["code"] for r in client.get("/api/v1/taxonomy").json["roles"]}
    accepted = client.post("/api/v1/volunteers", json=factories.offer(roles=["peer_support"]))
    assert accepted.status_code == 201, accepted.json


def test_anonymous_submissions_are_rate_limited_with_a_json_answer(services) -> None:
    from web.app import create_app

    limited = create_app(services_=services, test_config={"TESTING": True, "SUBMISSION_RATE_LIMIT": "2 per minute"})
    client = limited.test_client()
    codes = [client.post("/api/v1/volunteers", json={}).status_code for _ in range(3)]
    assert codes == [422, 422, 429]
    assert client.post("/api/v1/volunteers", json={}).json["message"]


def test_closing_a_match_and_a_request_through_the_api(app, services) -> None:

    client = app.test_client()
    coordinators.create_coordinator(
        services.uow(), "lead@nhs.example", "a long passphrase", ["tower_hamlets"], services.clock
    )
    token = client.post("/api/v1/auth/token", json={"email": "lead@nhs.example", "password": "a long passphrase"})
    auth = {"Authorization": f"Bearer {token.json['token']}"}
    volunteer_id = client.post("/api/v1/volunteers", json=factories.offer()).json["id"]
    request_id = client.post("/api/v1/team-requests", json=factories.team_request()).json["id"]
    made = client.post(
        "/api/v1/matches",
        json={"team_request_id": request_id, "volunteer_id": volunteer_id, "role": "focus_group"},
        headers=auth,
    )
    assert made.status_code == 201 and made.json["status"] == "approved"
    assert client.get(f"/api/v1/team-requests/{request_id}", headers=auth).json["status"] == "filled"
    assert client.post(f"/api/v1/matches/{made.json['id']}/close", json={}, headers=auth).status_code == 422
    closed = client.post(f"/api/v1/matches/{made.json['id']}/close", json={"reason": "finished"}, headers=auth)
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    assert client.get(f"/api/v1/team-requests/{request_id}", headers=auth).json["status"] == "open"
    assert client.post(f"/api/v1/matches/{made.json['id']}/approve", headers=auth).status_code == 409
    ended = client.post(f"/api/v1/team-requests/{request_id}/close", headers=auth)
    assert ended.status_code == 200 and ended.json["status"] == "closed"


def test_the_introductory_chat_is_arranged_through_the_api(app, services) -> None:
    client = app.test_client()
    coordinators.create_coordinator(
        services.uow(), "lead@nhs.example", "a long passphrase", ["tower_hamlets"], services.clock
    )
    token = client.post("/api/v1/auth/token", json={"email": "lead@nhs.example", "password": "a long passphrase"})
    auth = {"Authorization": f"Bearer {token.json['token']}"}
    volunteer_id = client.post("/api/v1/volunteers", json=factories.offer()).json["id"]
    asked = factories.team_request(venue="Ward 5 office", video_link="https://meet.example/ward5")
    request_id = client.post("/api/v1/team-requests", json=asked).json["id"]
    shown = client.get(f"/api/v1/team-requests/{request_id}", headers=auth).json
    assert (shown["venue"], shown["video_link"]) == ("Ward 5 office", "https://meet.example/ward5")
    match_id = client.post(
        "/api/v1/matches",
        json={"team_request_id": request_id, "volunteer_id": volunteer_id, "role": "focus_group"},
        headers=auth,
    ).json["id"]
    before = row_counts(services)
    for body, field in (
        ({"intro_at": "2020-01-01T10:00:00+00:00"}, "intro_at"),  # in the past
        ({"intro_at": "2030-01-01T10:00:00"}, "intro_at"),  # no UTC offset: which 10:00?
        ({"video_link": "ftp://x"}, "video_link"),
    ):
        refused = client.post(f"/api/v1/matches/{match_id}/meeting", json=body, headers=auth)
        assert refused.status_code == 422 and field in refused.json["errors"], refused.json
    assert row_counts(services) == before
    set_ = client.post(
        f"/api/v1/matches/{match_id}/meeting",
        json={"intro_at": "2030-01-08T14:30:00+00:00", "venue": "Room 2"},
        headers=auth,
    )
    assert set_.status_code == 200, set_.json
    assert (set_.json["venue"], set_.json["intro_at"][:16]) == ("Room 2", "2030-01-08T14:30")


def sign_in_api(client: Any, services: Services) -> dict[str, str]:
    coordinators.create_coordinator(
        services.uow(), "api@nhs.example", "a long passphrase", ["tower_hamlets"], services.clock
    )
    got = client.post("/api/v1/auth/token", json={"email": "api@nhs.example", "password": "a long passphrase"})
    return {"Authorization": f"Bearer {got.json['token']}"}


def test_a_body_nested_hundreds_deep_is_a_named_422_not_a_500(app, services) -> None:
    """Found: about 500 levels of nesting answered an unauthenticated 500 on every POST."""
    client = app.test_client()
    before = row_counts(services)
    for depth in (40, 500, 900):
        for leaf in ('"\\u0000"', "1"):  # a NUL at the bottom is looked for all the way down
            body = json.dumps(factories.offer())[:-1] + ', "deep": ' + "[" * depth + leaf + "]" * depth + "}"
            response = client.post("/api/v1/volunteers", data=body, content_type="application/json")
            assert response.status_code == 422, (depth, response.get_data(as_text=True)[:200])
            assert any(name.startswith("deep") for name in response.json["errors"])
            if leaf != "1":
                assert "Nested more than 32 levels deep." in str(response.json["errors"])
    assert row_counts(services) == before


def test_a_405_keeps_its_allow_header(app) -> None:
    response = app.test_client().delete("/api/v1/volunteers")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_a_body_that_is_not_json_is_refused_with_415_and_nothing_changes(app, services) -> None:
    """Found: a PATCH with text/plain recorded an empty update and answered 200."""
    client = app.test_client()
    token = sign_in_api(client, services)
    created = client.post("/api/v1/volunteers", json=factories.offer(), headers=token)
    assert created.status_code == 201
    before = row_counts(services)
    for method, path in (("patch", f"/api/v1/volunteers/{created.json['id']}"), ("post", "/api/v1/team-requests")):
        answer = getattr(client, method)(path, data="name=Someone", content_type="text/plain", headers=token)
        assert answer.status_code == 415 and "JSON" in answer.json["message"]
    assert row_counts(services) == before


def test_a_database_that_is_down_answers_503_with_retry_after_not_500(app, monkeypatch) -> None:
    from matcher.errors import Unavailable
    from matcher.services import intake

    def down(*args: Any, **kwargs: Any) -> Any:
        raise Unavailable()

    monkeypatch.setattr(intake, "register_volunteer", down)
    response = app.test_client().post("/api/v1/volunteers", json=factories.offer())
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0 and "try again" in response.json["message"]


@pytest.mark.parametrize(
    "next_",
    ["/%09/evil.example/", "/\t/evil.example/", "//evil.example/", "/%2F/evil.example", "https://evil.example/",
     "/\\evil.example", "/coordinator/%0d%0aSet-Cookie:x=1", "/ok\r\nLocation: https://evil.example"],
)  # fmt: skip
def test_sign_in_goes_only_to_a_path_on_this_site(app, services, next_: str) -> None:
    """Found: next=/%09/evil.example/ was an open redirect after sign-in; CR/LF answered 500."""
    from tests.pages_support import LEAD_EMAIL, LEAD_PASSWORD, csrf

    coordinators.create_coordinator(services.uow(), LEAD_EMAIL, LEAD_PASSWORD, ["tower_hamlets"], services.clock)
    client = app.test_client()
    data = {"csrf_token": csrf(client, "/coordinator/sign-in"), "email": LEAD_EMAIL, "password": LEAD_PASSWORD}
    signed = client.post("/coordinator/sign-in", data={**data, "next": next_})
    assert signed.status_code == 303
    assert signed.headers["Location"] in ("/coordinator/", "http://localhost/coordinator/")


@pytest.mark.parametrize("bad", ["Amina\r\nBcc: all@nhs.example", "Amina\n", "Ami\tna", "Amina\x1b[2J"])
def test_one_line_fields_refuse_line_breaks_and_control_characters(app, services, bad: str) -> None:
    """Found: CR/LF in names and titles was accepted and spilled into email bodies."""
    client = app.test_client()
    before = row_counts(services)
    offer = client.post("/api/v1/volunteers", json=factories.offer(name=bad))
    request = client.post("/api/v1/team-requests", json=factories.team_request(project_title=bad, team_name=bad))
    assert offer.status_code == 422 and "one line" in offer.json["errors"]["name"][0]
    assert request.status_code == 422 and {"project_title", "team_name"} <= set(request.json["errors"])
    assert row_counts(services) == before
    fine = client.post("/api/v1/volunteers", json=factories.offer(name="Zoë O'Brien-Nuñez"))
    assert fine.status_code == 201
