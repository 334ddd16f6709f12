"""The OpenAPI document says what the app does: who may call each operation, what it answers,
which codes a field holds.

Each check calls the real app (on SQLite) and compares what it answered with what the
document declares, so a view whose behaviour drifts from its documentation fails here.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from matcher.bootstrap import Services
from matcher.domain import EventKind, Match, MatchStatus, RequestStatus, VolunteerStatus
from matcher.services import coordinators
from tests import factories

METHODS = ("get", "put", "post", "patch", "delete")
WRITES = ("put", "post", "patch", "delete")
PASSWORD = "a long passphrase"
# Operations the answers test drives to success too; the others' successes come from their own
# tests, which tests/api_answers.py checks against the document at the end of every run.
SCRIPTED = {
    ("get", "/api/v1/volunteers"),
    ("post", "/api/v1/volunteers"),
    ("get", "/api/v1/volunteers/{volunteer_id}"),
    ("patch", "/api/v1/volunteers/{volunteer_id}"),
    ("get", "/api/v1/team-requests"),
    ("post", "/api/v1/team-requests"),
    ("get", "/api/v1/team-requests/{request_id}"),
    ("post", "/api/v1/team-requests/{request_id}/close"),
    ("get", "/api/v1/team-requests/{request_id}/suggestions"),
    ("get", "/api/v1/team-requests/{request_id}/why-not"),
    ("get", "/api/v1/matches"),
    ("post", "/api/v1/matches"),
    ("get", "/api/v1/matches/{match_id}"),
    ("post", "/api/v1/matches/{match_id}/approve"),
    ("post", "/api/v1/matches/{match_id}/meeting"),
    ("post", "/api/v1/matches/{match_id}/close"),
    ("post", "/api/v1/matches/{match_id}/reject"),
    ("get", "/api/v1/taxonomy"),
    ("put", "/api/v1/taxonomy/{vocabulary}/{code}"),
    ("post", "/api/v1/auth/token"),
}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def documented(operation: dict[str, Any]) -> set[int]:
    return {int(code) for code in operation["responses"] if code != "default"}


def url(path: str, **ids: str) -> str:
    """A path of the document with its {parameters} filled in (an unknown id unless given)."""
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "no-such-id"), path)


def signed_in(app: Flask, services: Services, email: str, areas: list[str], admin: bool = False) -> dict[str, str]:
    coordinators.create_coordinator(services.uow(), email, PASSWORD, areas, services.clock, admin=admin)
    token = app.test_client().post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}).json["token"]
    return {"Authorization": f"Bearer {token}"}


def test_every_operation_declares_who_may_call_it_and_the_app_agrees(app: Flask, services: Services) -> None:
    """Without a token: an operation that answers 401 declares the bearer token, and one that
    declares none (security: []) lets the caller in. Bodies are valid, so the view itself runs."""
    coordinators.create_coordinator(services.uow(), "lead@nhs.example", PASSWORD, ["tower_hamlets"], services.clock)
    # A valid body for each operation open to all, so a view that asks for a token still shows it.
    bodies = {
        ("post", "/api/v1/volunteers"): factories.offer(),
        ("post", "/api/v1/team-requests"): factories.team_request(),
        ("post", "/api/v1/auth/token"): {"email": "lead@nhs.example", "password": PASSWORD},
        ("post", "/api/v1/auth/password-reset"): {"email": "lead@nhs.example"},
        ("post", "/api/v1/meeting-suggestions"): {
            "meeting": "Ward 5 community meeting",
            "area": "tower_hamlets",
            "details": "Tuesdays at 10:00, Mile End",
        },
        ("post", "/api/v1/team-chats/{chat_id}/booking"): {
            "team_name": "Ward 5",
            "contact": {"name": "Sam", "email": "sam@nhs.example"},
        },
    }
    client = app.test_client()
    spec = client.get("/api/openapi.json").json
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A coordinator's token from POST /api/v1/auth/token.",
    }
    undeclared, wrong = [], []
    for method, path, operation in operations(spec):
        name = f"{method.upper()} {path}"
        if "security" not in operation:
            undeclared.append(name)
            continue
        # GOV.UK Notify's receipts want a token of their own, as a coordinator's operations want theirs.
        needs_token = operation["security"] in ([{"bearerAuth": []}], [{"notifyCallbackToken": []}])
        # Open to all, or open to all with a coordinator's token optional (OpenAPI's [{}, bearer]);
        # /metrics has a token of its own (QIMATCH_METRICS_TOKEN), which the test app does not set.
        optional = ([], [{}, {"bearerAuth": []}], [{}, {"metricsToken": []}])
        assert needs_token or operation["security"] in optional, f"{name}"
        if not needs_token and method in WRITES:
            assert (method, path) in bodies, f"{name} is open to all: give it a valid body here"
        answer = client.open(url(path), method=method.upper(), json=bodies.get((method, path)))
        if needs_token != (answer.status_code == 401):
            wrong.append(f"{name} declares {operation['security']} but answered {answer.status_code}")
    assert undeclared == [], f"no security declared: {undeclared}"
    assert wrong == []
    # The ones anybody may call, by name: the forms' submissions, the vocabularies and sign-in.
    tokens = ([{"bearerAuth": []}], [{"notifyCallbackToken": []}])
    public = sorted(f"{m.upper()} {p}" for m, p, o in operations(spec) if o["security"] not in tokens)
    assert public == [
        "GET /api/v1/taxonomy",
        "GET /api/v1/team-chats/open",
        "GET /healthz",
        "GET /healthz/live",
        "GET /healthz/ready",
        "GET /metrics",
        "POST /api/v1/auth/password-reset",
        "POST /api/v1/auth/token",
        "POST /api/v1/meeting-suggestions",
        "POST /api/v1/team-chats/{chat_id}/booking",
        "POST /api/v1/team-requests",
        "POST /api/v1/volunteers",
    ]
    # A coordinator may enter an offer for someone: the token is optional there, and a bad one is a 401.
    assert spec["paths"]["/api/v1/volunteers"]["post"]["security"] == [{}, {"bearerAuth": []}]
    forged = client.post("/api/v1/volunteers", json=factories.offer(), headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401
    # GOV.UK Notify's receipts: their own scheme, documented; no token set here, so nobody gets in.
    assert spec["components"]["securitySchemes"]["notifyCallbackToken"]["scheme"] == "bearer"
    receipt = {"id": "740e5834-3a29-46b4-9a6f-16142fde533a", "status": "delivered"}
    assert client.post("/api/v1/notify/receipts", json=receipt).status_code == 401


def test_an_anonymous_caller_is_refused_before_the_body_is_read(app: Flask) -> None:
    # A coordinator's operation answers 401, not the validation of a body the caller may not send.
    answer = app.test_client().post("/api/v1/matches", json={"role": "no such role"})
    assert answer.status_code == 401, answer.json
    assert answer.json == {"message": "sign in as a coordinator first"}


def test_every_operation_documents_the_answers_the_app_gives(app: Flask, services: Services) -> None:
    """Each operation is driven into each failure the whole app shares (no token, an unknown
    id, a body that is not JSON, malformed, too large or invalid, an area one does not look
    after) and into its own successes and conflicts; every status seen must be documented."""
    client = app.test_client()
    spec = client.get("/api/openapi.json").json
    lead = signed_in(app, services, "lead@nhs.example", ["tower_hamlets"])
    admin = signed_in(app, services, "admin@nhs.example", ["tower_hamlets"], admin=True)
    # The failures are tried by another account: one of them signs it out everywhere.
    sweeper = signed_in(app, services, "sweeper@nhs.example", ["tower_hamlets"])
    seen: dict[tuple[str, str], set[int]] = {(m, p): set() for m, p, _ in operations(spec)}

    def call(method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        ids = kwargs.pop("ids", {})
        answer = client.open(url(path, **ids), method=method.upper(), headers=headers or {}, **kwargs)
        seen[(method, path)].add(answer.status_code)
        return answer

    for method, path, operation in operations(spec):
        auth = sweeper if operation["security"] else {}
        call(method, path)  # no token
        if "{" in path:
            call(method, path, auth)
        if method in WRITES:
            call(method, path, auth, data="name=x", content_type="text/plain")
            call(method, path, auth, data="{not json", content_type="application/json")
            call(method, path, auth, data="[" * 300_000, content_type="application/json")
            call(method, path, auth, json={"no_such_field": 1})
        elif path.endswith(("/volunteers", "/team-requests", "/matches")):
            call(method, path, auth, query_string={"area": "luton"})  # not theirs: 403
            call(method, path, auth, query_string={"per_page": 0})

    # The successes, and the conflicts a second try meets.
    request_id = call("post", "/api/v1/team-requests", json=factories.team_request()).json["id"]
    volunteer_id = call("post", "/api/v1/volunteers", json=factories.offer()).json["id"]
    again = factories.offer()
    call("post", "/api/v1/volunteers", json=again)
    call("post", "/api/v1/volunteers", json=again)  # the same email: 409
    other_id = call("post", "/api/v1/volunteers", json=factories.offer()).json["id"]
    for method, path in [("get", "/api/v1/volunteers"), ("get", "/api/v1/team-requests"), ("get", "/api/v1/matches")]:
        call(method, path, lead)
    call("get", "/api/v1/taxonomy")
    ids = {"request_id": request_id, "volunteer_id": volunteer_id}
    call("get", "/api/v1/volunteers/{volunteer_id}", lead, ids=ids)
    call(
        "patch", "/api/v1/volunteers/{volunteer_id}", lead, ids={"volunteer_id": other_id}, json={"status": "withdrawn"}
    )
    call("patch", "/api/v1/volunteers/{volunteer_id}", lead, ids={"volunteer_id": other_id}, json={"status": "active"})
    call("get", "/api/v1/team-requests/{request_id}", lead, ids=ids)
    call("get", "/api/v1/team-requests/{request_id}/suggestions", lead, ids=ids)
    call(
        "get", "/api/v1/team-requests/{request_id}/why-not", lead, ids=ids, query_string={"volunteer_id": volunteer_id}
    )
    made = {"team_request_id": request_id, "volunteer_id": volunteer_id, "role": "focus_group"}
    made_answer = call("post", "/api/v1/matches", lead, json=made)
    assert made_answer.status_code == 201, made_answer.json
    match_id = made_answer.json["id"]
    call("post", "/api/v1/matches", lead, json=made)  # already matched: 409
    call("post", "/api/v1/matches", lead, json={**made, "team_request_id": "no-such-id"})  # 404
    ids["match_id"] = match_id
    call("get", "/api/v1/matches/{match_id}", lead, ids=ids)
    call("post", "/api/v1/matches/{match_id}/approve", lead, ids=ids)  # approved already: 409
    call("post", "/api/v1/matches/{match_id}/reject", lead, ids=ids, json={"reason": "x"})  # 409
    # Two of the matcher's suggestions on a second request: one approved, one turned down.
    second = call(
        "post", "/api/v1/team-requests", json=factories.team_request(roles=[{"role": "focus_group", "count": 2}])
    )
    now = services.clock.now()
    suggested = [
        Match(second.json["id"], v, "focus_group", 0.5, {}, created_at=now, updated_at=now)
        for v in (volunteer_id, other_id)
    ]
    with services.uow() as uow:
        for m in suggested:
            uow.matches.add(m)
        uow.commit()
    call("post", "/api/v1/matches/{match_id}/approve", lead, ids={"match_id": suggested[0].id})
    call("post", "/api/v1/matches/{match_id}/reject", lead, ids={"match_id": suggested[1].id}, json={"reason": "x"})
    call(
        "post", "/api/v1/matches/{match_id}/close", lead, ids={"match_id": suggested[1].id}, json={"reason": "x"}
    )  # 409
    call("post", "/api/v1/matches/{match_id}/meeting", lead, ids=ids, json={"venue": "Room 4"})
    call("post", "/api/v1/matches/{match_id}/close", lead, ids=ids, json={"reason": "done"})
    call("post", "/api/v1/matches/{match_id}/close", lead, ids=ids, json={"reason": "done"})  # again: 200
    call("post", "/api/v1/matches/{match_id}/meeting", lead, ids=ids, json={"venue": "Room 5"})  # 409
    call("post", "/api/v1/team-requests/{request_id}/close", lead, ids=ids)
    call("post", "/api/v1/team-requests/{request_id}/close", lead, ids=ids)  # again: 200
    term = {"vocabulary": "areas", "code": "havering"}
    call("put", "/api/v1/taxonomy/{vocabulary}/{code}", lead, ids=term, json={"label": "Havering"})  # 403
    call("put", "/api/v1/taxonomy/{vocabulary}/{code}", admin, ids=term, json={"label": "Havering"})
    call(
        "put", "/api/v1/taxonomy/{vocabulary}/{code}", admin, ids={"vocabulary": "x", "code": "y"}, json={"label": "Y"}
    )
    call("post", "/api/v1/auth/token", json={"email": "lead@nhs.example", "password": PASSWORD})
    call("post", "/api/v1/auth/token", json={"email": "lead@nhs.example", "password": "wrong"})  # 401

    undocumented = []
    for (method, path), statuses in seen.items():
        operation = spec["paths"][path][method]
        if (method, path) in SCRIPTED and not any(200 <= s < 300 for s in statuses):
            undocumented.append(f"{method.upper()} {path}: never succeeded here; add a call above")
        for status in sorted(statuses - documented(operation)):
            undocumented.append(f"{method.upper()} {path} answered {status}")
    assert undocumented == []


def test_the_minimum_every_operation_documents(app: Flask) -> None:
    spec = app.test_client().get("/api/openapi.json").json
    missing = []
    for method, path, operation in operations(spec):
        codes = documented(operation)
        successes = [c for c in codes if 200 <= c < 300]
        content = operation["responses"][str(successes[0])].get("content", {}) if successes else {}
        # JSON mostly; a QR code is an image, with its media type.
        if not successes or (successes[0] != 204 and not any("schema" in c for c in content.values())):
            missing.append(f"{method.upper()} {path}: a success with a schema")
        wanted = {503}
        if method in WRITES:
            wanted |= {400, 413, 415} | ({422} if "requestBody" in operation else set())
        if operation["security"]:
            wanted |= {401}
        if "{" in path:
            wanted |= {404}
        missing += [f"{method.upper()} {path}: {c}" for c in sorted(wanted - codes)]
        for code, answer in operation["responses"].items():
            if code.startswith(("4", "5")) or code == "default":
                body = (
                    answer if "$ref" not in answer else spec["components"]["responses"][answer["$ref"].split("/")[-1]]
                )
                # Readiness's 503 is its health report, naming the failing check (for orchestrators).
                own_body = (path, code) == ("/healthz/ready", "503")
                if not own_body and body["content"]["application/json"]["schema"] != {
                    "$ref": "#/components/schemas/ErrorOut"
                }:
                    missing.append(f"{method.upper()} {path}: {code} with the error body")
    assert missing == []
    error = spec["components"]["schemas"]["ErrorOut"]
    assert set(error["properties"]) == {"message", "errors"} and error["required"] == ["message"]


def test_the_rate_limited_operations_document_429_and_answer_it(services: Services) -> None:
    from web.app import create_app

    app = create_app(services_=services, test_config={"TESTING": True, "SUBMISSION_RATE_LIMIT": "1 per minute"})
    client = app.test_client()
    spec = client.get("/api/openapi.json").json
    client.post("/api/v1/volunteers", json=factories.offer())
    answer = client.post("/api/v1/volunteers", json=factories.offer())
    assert answer.status_code == 429 and answer.headers["Retry-After"]
    assert set(answer.json) <= {"message", "errors"}
    limited = sorted(f"{m.upper()} {p}" for m, p, o in operations(spec) if "429" in o["responses"])
    assert limited == [
        "POST /api/v1/auth/password-reset",
        "POST /api/v1/auth/token",
        "POST /api/v1/meeting-suggestions",
        "POST /api/v1/team-chats/{chat_id}/booking",
        "POST /api/v1/team-requests",
        "POST /api/v1/volunteers",
    ]


def test_fixed_codes_are_enums_and_a_trusts_vocabularies_are_named(app: Flask) -> None:
    schemas = app.test_client().get("/api/openapi.json").json["components"]["schemas"]
    enum = {
        ("VolunteerOut", "status"): list(VolunteerStatus.ALL),
        ("VolunteerOut", "kind"): ["service_user", "carer", "both"],
        ("VolunteerOut", "preferred_contact"): ["email", "phone"],
        ("TeamRequestSummaryOut", "status"): list(RequestStatus.ALL),
        ("MatchOut", "status"): list(MatchStatus.ALL),
        ("MatchOut", "origin"): ["engine", "coordinator"],
        ("EventOut", "kind"): [k.value for k in EventKind],
        ("FollowUpOut", "status"): ["scheduled", "invited", "reminded", "cancelled"],
        ("OfferReceipt", "status"): list(VolunteerStatus.ALL),
        ("RequestReceipt", "status"): list(RequestStatus.ALL),
    }
    for (schema, name), codes in enum.items():
        assert schemas[schema]["properties"][name]["enum"] == codes, (schema, name)
    assert "at_capacity" in schemas["ReasonOut"]["properties"]["rule"]["enum"]
    # Codes a trust edits while the service runs are not frozen into the document: each names its vocabulary.
    assert schemas["MatchOut"]["properties"]["role"]["x-vocabulary"] == "roles"
    assert "enum" not in schemas["MatchOut"]["properties"]["role"]
    assert schemas["VolunteerOut"]["properties"]["modes"]["items"]["x-vocabulary"] == "modes"
    assert schemas["TeamRequestIn"]["properties"]["area"]["x-vocabulary"] == "areas"


def test_every_answer_of_a_listing_names_its_paging_headers(app: Flask) -> None:
    spec = app.test_client().get("/api/openapi.json").json
    for path in ("/api/v1/volunteers", "/api/v1/team-requests", "/api/v1/matches"):
        assert set(spec["paths"][path]["get"]["responses"]["200"]["headers"]) == {
            "X-Total-Count",
            "X-Page",
            "X-Per-Page",
        }


def test_text_after_a_leading_space_or_line_break_is_not_blank(app: Flask, services: Services) -> None:
    """The document says "not blank" as a pattern; the validator once refused any text that
    began with white space (schemathesis found it: a reason starting with a line break)."""
    client = app.test_client()
    made = client.post("/api/v1/volunteers", json=factories.offer(name=" Amina Begum"))
    assert made.status_code == 201, made.json
    asked = client.post("/api/v1/team-requests", json=factories.team_request(team_name=" Ward 5"))
    assert asked.status_code == 201, asked.json
    blank = client.post("/api/v1/volunteers", json=factories.offer(name=" \t "))
    assert blank.status_code == 422 and "name" in blank.json["errors"]
    schemas = app.test_client().get("/api/openapi.json").json["components"]["schemas"]
    assert re.search(schemas["ReasonIn"]["properties"]["reason"]["pattern"], "\nStepped back for now")
    # The rules as patterns: one line and not blank for names, no NUL anywhere, codes' shape.
    one_line = schemas["TeamRequestIn"]["properties"]["team_name"]["pattern"]
    assert re.search(one_line, " Ward 5") and not re.search(one_line, "Ward\n5") and not re.search(one_line, " ")
    assert not re.search(schemas["TeamRequestIn"]["properties"]["aim"]["pattern"], "a\x00")
    assert schemas["TeamRequestIn"]["properties"]["area"]["pattern"] == "^[a-z0-9_]{1,60}$"


def test_a_boolean_is_json_true_or_false_as_the_document_says(app: Flask, services: Services) -> None:
    """schemathesis found PUT /taxonomy taking "active": 0 for false; a consent of 1 was taken too."""
    admin = signed_in(app, services, "admin@nhs.example", ["tower_hamlets"], admin=True)
    client = app.test_client()
    retired = client.put("/api/v1/taxonomy/areas/havering", json={"label": "Havering", "active": 0}, headers=admin)
    assert retired.status_code == 422 and "active" in retired.json["errors"]
    consent = {"data_processing": 1, "version": "2026-01"}
    offer = client.post("/api/v1/volunteers", json=factories.offer(consent=consent))
    assert offer.status_code == 422 and "consent.data_processing" in offer.json["errors"]
    assert client.post("/api/v1/volunteers", json=factories.offer()).status_code == 201


def test_a_nul_in_a_query_string_is_refused_as_the_document_says(app: Flask, services: Services) -> None:
    """schemathesis: GET /audit took subject_id with a NUL (the check walked dicts, and a query
    string is a MultiDictProxy); PostgreSQL cannot hold one in a text parameter."""
    auth = signed_in(app, services, "lead@nhs.example", ["tower_hamlets"])
    answer = app.test_client().get("/api/v1/audit", query_string={"subject_id": "a\x00b"}, headers=auth)
    assert answer.status_code == 422, answer.json
    assert answer.json["errors"] == {"subject_id": ["Must not contain a NUL character."]}
