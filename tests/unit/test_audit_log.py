"""The audit log: every coordinator action is on it, with the action, in one transaction;
coordinators read and filter it within their areas; sign-ins are on it without passwords;
a coordinator erases a volunteer who asked, and the log keeps nothing of them but an id.

The real app on SQLite (the fast tier), through the API and the pages.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from matcher.bootstrap import Services
from matcher.domain import AuditAction, Coordinator, MatchStatus
from matcher.errors import Conflict, Forbidden
from matcher.services import coordinators, decisions, endings, intake, meetings, suggestions, vocabularies
from tests import factories
from tests.pages_support import CSRF, LEAD_EMAIL, LEAD_PASSWORD, csrf, sign_in_coordinator
from web.pages.records import AUDIT_WORDS, SUBJECT_WORDS

PASSWORD = "correct horse battery"


def _account(services: Services, email: str, areas: list[str], admin: bool = False) -> Coordinator:
    return coordinators.create_coordinator(services.uow(), email, PASSWORD, areas, services.clock, admin=admin)


def _token(client, email: str, password: str = PASSWORD) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['token']}"}


def _rows(services: Services) -> list[dict]:
    assert services.engine is not None
    with services.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text("select * from audit_entries order by id"))]


def _suggested(services: Services, area: str = "tower_hamlets", **offer) -> tuple[str, str]:
    """A volunteer and a request in ``area``, with a suggestion between them: (volunteer, match)."""
    clock, config = services.clock, services.settings.matching
    v = intake.register_volunteer(services.uow(), factories.offer(home_area=area, **offer), clock)
    r = intake.submit_request(services.uow(), factories.team_request(area=area), clock)
    suggestions.suggest_for_request(services.uow(), r.id, config, clock)
    with services.uow() as uow:
        return v.id, uow.matches.where(team_request_id=r.id, volunteer_id=v.id)[0].id


def test_every_action_has_words_on_the_page() -> None:
    assert set(AUDIT_WORDS) == set(AuditAction)
    assert all(SUBJECT_WORDS.values())


def test_each_coordinator_action_is_on_the_log_with_its_subject_and_codes_only(app, services: Services) -> None:
    lead = _account(services, "lead@nhs.example", ["tower_hamlets"], admin=True)
    client = app.test_client()
    auth = _token(client, "lead@nhs.example")
    volunteer_id, match_id = _suggested(services, name="Amina Begum", email="amina@example.org")

    assert client.post(f"/api/v1/matches/{match_id}/approve", headers=auth).status_code == 200
    edit = client.patch(f"/api/v1/volunteers/{volunteer_id}", json={"max_commitments": 3}, headers=auth)
    assert edit.status_code == 200
    closed = client.post(f"/api/v1/matches/{match_id}/close", json={"reason": "Amina moved away"}, headers=auth)
    assert closed.status_code == 200
    term = client.put("/api/v1/taxonomy/languages/kri", json={"label": "Krio"}, headers=auth)
    assert term.status_code == 200
    other_volunteer, other_match = _suggested(services)
    rejected = client.post(f"/api/v1/matches/{other_match}/reject", json={"reason": "Not now"}, headers=auth)
    assert rejected.status_code == 200

    actions = [(r["action"], r["subject_kind"], r["subject_id"], r["coordinator_id"]) for r in _rows(services)]
    assert actions == [
        ("sign_in", "coordinator", lead.id, lead.id),
        ("match.approve", "match", match_id, lead.id),
        ("volunteer.edit", "volunteer", volunteer_id, lead.id),
        ("match.close", "match", match_id, lead.id),
        ("vocabulary.set_term", "term", "languages:kri", lead.id),
        ("match.reject", "match", other_match, lead.id),
    ]
    details = {
        r["action"]: json.loads(r["details"]) if isinstance(r["details"], str) else r["details"]
        for r in _rows(services)
    }
    assert details["volunteer.edit"] == {"fields": ["max_commitments"]}  # which field, not its value
    assert details["match.close"] == {"reason": "by_coordinator"}  # the code; her words stay on the match
    assert details["match.reject"] == {}
    assert "moved away" not in str(_rows(services)) and "Not now" not in str(_rows(services))


def test_a_refused_action_leaves_no_entry(app, services: Services) -> None:
    lead = _account(services, "lead@nhs.example", ["tower_hamlets"])
    _, match_id = _suggested(services)
    decisions.reject(services.uow(), match_id, lead, "No", services.clock)
    before = len(_rows(services))

    with pytest.raises(Conflict):
        decisions.approve(services.uow(), match_id, lead, services.clock)  # a rejected match cannot be approved
    with pytest.raises(Forbidden):
        vocabularies.set_term(services.uow(), lead, "languages", "kri", "Krio", True, services.clock)  # not an admin

    assert len(_rows(services)) == before


def test_sign_ins_are_logged_by_the_address_typed_never_the_password(app, services: Services) -> None:
    lead = _account(services, LEAD_EMAIL, ["tower_hamlets"])
    client = app.test_client()
    wrong = "not-the-password-123"
    page = client.post(
        "/coordinator/sign-in",
        data={"csrf_token": csrf(client, "/coordinator/sign-in"), "email": LEAD_EMAIL, "password": wrong},
    )
    assert page.status_code == 422
    api = client.post("/api/v1/auth/token", json={"email": "Nobody@Example.org", "password": wrong})
    assert api.status_code == 401
    ok = client.post(
        "/coordinator/sign-in",
        data={"csrf_token": csrf(client, "/coordinator/sign-in"), "email": LEAD_EMAIL, "password": LEAD_PASSWORD},
    )
    assert ok.status_code == 303

    rows = _rows(services)
    assert [(r["action"], r["subject_id"], r["coordinator_id"], r["attempted_email"]) for r in rows] == [
        ("sign_in_failed", lead.id, None, LEAD_EMAIL),  # an attempt on her account: she sees it
        ("sign_in_failed", None, None, "nobody@example.org"),
        ("sign_in", lead.id, lead.id, None),
    ]
    assert wrong not in str(rows) and LEAD_PASSWORD not in str(rows)
    assert [
        json.loads(r["details"])["via"] if isinstance(r["details"], str) else r["details"]["via"] for r in rows
    ] == [
        "page",
        "api",
        "page",
    ]


def test_coordinators_read_their_own_actions_and_their_areas_and_admins_read_all(app, services: Services) -> None:
    east = _account(services, "east@nhs.example", ["tower_hamlets"])
    north = _account(services, "north@nhs.example", ["luton"])
    _account(services, "admin@nhs.example", ["newham"], admin=True)
    client = app.test_client()
    east_auth, north_auth = _token(client, "east@nhs.example"), _token(client, "north@nhs.example")
    admin_auth = _token(client, "admin@nhs.example")
    _, east_match = _suggested(services, "tower_hamlets")
    _, north_match = _suggested(services, "luton")
    assert client.post(f"/api/v1/matches/{east_match}/approve", headers=east_auth).status_code == 200
    assert client.post(f"/api/v1/matches/{north_match}/approve", headers=north_auth).status_code == 200
    # A second coordinator of Tower Hamlets sees the first one's approval there, not Luton's.
    colleague = _account(services, "colleague@nhs.example", ["tower_hamlets"])
    colleague_auth = _token(client, "colleague@nhs.example")

    def seen(auth: dict[str, str], **filters: str) -> list[tuple[str, str | None]]:
        answer = client.get("/api/v1/audit", query_string=filters, headers=auth)
        assert answer.status_code == 200, answer.json
        return [(e["action"], e["subject_id"]) for e in answer.json]

    assert seen(colleague_auth) == [("sign_in", colleague.id), ("match.approve", east_match)]
    assert seen(north_auth) == [("match.approve", north_match), ("sign_in", north.id)]
    everything = seen(admin_auth)
    assert ("match.approve", east_match) in everything and ("match.approve", north_match) in everything
    assert len(everything) == 6  # four sign-ins and two approvals
    # Filters: who, what, about what, which days; paginated like the other lists.
    assert seen(admin_auth, coordinator=east.id) == [("match.approve", east_match), ("sign_in", east.id)]
    assert seen(admin_auth, action="match.approve", subject_kind="match", subject_id=north_match) == [
        ("match.approve", north_match)
    ]
    today = services.clock.now().date().isoformat()
    assert len(seen(admin_auth, **{"from": today, "to": today})) == 6
    assert seen(admin_auth, **{"from": "2000-01-01", "to": "2000-01-02"}) == []
    paged = client.get("/api/v1/audit?per_page=2&page=2", headers=admin_auth)
    assert paged.headers["X-Total-Count"] == "6" and len(paged.json) == 2
    bad = client.get("/api/v1/audit", query_string={"from": "2026-03-05", "to": "2026-03-01"}, headers=admin_auth)
    assert bad.status_code == 422 and "to" in json.dumps(bad.json["errors"])
    assert client.get("/api/v1/audit?action=drop_tables", headers=admin_auth).status_code == 422
    assert client.get("/api/v1/audit").status_code == 401


def test_a_coordinator_erases_a_volunteer_who_asked_and_the_log_keeps_only_ids(app, services: Services) -> None:
    lead = _account(services, "lead@nhs.example", ["tower_hamlets"])
    _account(services, "north@nhs.example", ["luton"])
    client = app.test_client()
    auth, north_auth = _token(client, "lead@nhs.example"), _token(client, "north@nhs.example")
    volunteer_id, match_id = _suggested(
        services, name="Amina Begum", email="amina@example.org", phone="07700 900123", access_needs="hearing loop"
    )
    assert client.post(f"/api/v1/matches/{match_id}/approve", headers=auth).status_code == 200
    assert (
        client.patch(f"/api/v1/volunteers/{volunteer_id}", json={"phone": "07700 900999"}, headers=auth).status_code
        == 200
    )

    elsewhere = client.post(f"/api/v1/volunteers/{volunteer_id}/erase", headers=north_auth)
    assert elsewhere.status_code == 404  # not one of their areas' people: unknown to them
    erased = client.post(f"/api/v1/volunteers/{volunteer_id}/erase", headers=auth)
    assert erased.status_code == 200, erased.json
    assert erased.json["id"] == volunteer_id and erased.json["erased_at"]
    again = client.post(f"/api/v1/volunteers/{volunteer_id}/erase", headers=auth)
    assert again.status_code == 409 and "erased already" in again.json["message"]
    unknown = client.post("/api/v1/volunteers/no-such-person/erase", headers=auth)
    assert unknown.status_code == 404 and "not found" in unknown.json["message"]

    with services.uow() as uow:
        v = uow.volunteers.get(volunteer_id)
        assert v.erased and v.name == "Erased volunteer" and v.phone is None
        assert (v.kind, v.home_area) == ("service_user", "tower_hamlets")  # the statistics stay
        assert uow.matches.get(match_id).status == MatchStatus.CLOSED
    rows = _rows(services)
    erasure = [r for r in rows if r["action"] == "volunteer.erase"]
    assert [(r["coordinator_id"], r["subject_id"]) for r in erasure] == [(lead.id, volunteer_id)]
    held = str(rows)
    for personal in ("Amina", "amina@example.org", "07700", "hearing loop"):
        assert personal not in held
    # Who erased whom, and when, for the coordinators of her area.
    log = client.get(f"/api/v1/audit?subject_id={volunteer_id}&action=volunteer.erase", headers=auth).json
    assert [(e["coordinator_id"], e["subject_kind"]) for e in log] == [(lead.id, "volunteer")]


def test_the_pages_erase_after_a_confirm_step_and_show_the_log_with_filters(app, services: Services) -> None:
    client = app.test_client()
    token = sign_in_coordinator(client, services)
    volunteer_id, match_id = _suggested(services, name="Amina Begum", email="amina@example.org")

    profile = client.get(f"/coordinator/volunteers/{volunteer_id}").get_data(as_text=True)
    assert f"/coordinator/volunteers/{volunteer_id}/erase" in profile
    confirm = client.get(f"/coordinator/volunteers/{volunteer_id}/erase")
    assert confirm.status_code == 200 and "What stays" in confirm.get_data(as_text=True)
    unticked = client.post(f"/coordinator/volunteers/{volunteer_id}/erase", data={"csrf_token": token})
    assert unticked.status_code == 422 and "Tick the box" in unticked.get_data(as_text=True)
    with services.uow() as uow:
        assert not uow.volunteers.get(volunteer_id).erased  # nothing happened without the tick
    done = client.post(f"/coordinator/volunteers/{volunteer_id}/erase", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 303
    with services.uow() as uow:
        assert uow.volunteers.get(volunteer_id).erased
    twice = client.post(f"/coordinator/volunteers/{volunteer_id}/erase", data={"csrf_token": token, "confirm": "yes"})
    assert twice.status_code == 409 and "erased already" in twice.get_data(as_text=True)

    log = client.get("/coordinator/audit")
    html = log.get_data(as_text=True)
    assert log.status_code == 200 and log.headers["Cache-Control"] == "no-store"
    assert "Erased a volunteer at their request" in html and "Signed in" in html
    assert volunteer_id in html and "Amina" not in html
    only = client.get("/coordinator/audit?action=sign_in").get_data(as_text=True)
    assert "Signed in" in only and "Erased a volunteer at their request</th>" not in only
    bad = client.get("/coordinator/audit?from=2026-03-05&to=2026-03-01")
    assert bad.status_code == 422 and "on or after the first day" in bad.get_data(as_text=True)
    assert CSRF.search(html)  # the sign-out form's token: a page like the others


def test_own_matches_exclusions_meetings_request_closing_and_csv_exports_are_on_it_too(app, services: Services) -> None:
    client = app.test_client()
    sign_in_coordinator(client, services)
    clock, config = services.clock, services.settings.matching
    with services.uow() as uow:
        lead = uow.coordinators.where()[0]
    volunteer_id, suggested = _suggested(services)
    decisions.exclude_team(services.uow(), suggested, lead, clock)
    other = intake.register_volunteer(services.uow(), factories.offer(), clock)
    r = intake.submit_request(services.uow(), factories.team_request(), clock)
    own = decisions.make_match(services.uow(), r.id, other.id, "focus_group", lead, config, clock)
    meetings.set_meeting(services.uow(), own.id, lead, {"intro_at": clock.now() + timedelta(days=3)}, clock, config)
    endings.close_request(services.uow(), r.id, lead, clock)
    assert client.get("/coordinator/programme.csv?area=tower_hamlets").status_code == 200

    entries = [(r["action"], r["subject_kind"], r["subject_id"]) for r in _rows(services)][1:]  # after the sign-in
    assert entries == [
        ("volunteer.exclude_team", "volunteer", volunteer_id),
        ("match.own", "match", own.id),
        ("match.meeting", "match", own.id),
        ("request.close", "request", r.id),
        ("programme.export", "programme", "tower_hamlets"),
    ]
