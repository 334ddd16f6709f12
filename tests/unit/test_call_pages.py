"""The call list through the API and the coordinator's pages, on SQLite (the fast tier)."""

from __future__ import annotations

from typing import Any

from matcher.bootstrap import Services
from matcher.calls import NOTE_MAX, Call, CallReason, CallSubject
from matcher.services import coordinators, decisions, intake
from tests import factories
from tests.pages_support import LEAD_EMAIL, LEAD_PASSWORD, csrf, sign_in_coordinator


def phone_introduction(services: Services, lead: Any) -> dict[str, str]:
    """A phone-preferring volunteer approved for a match: an introduction call owed."""
    clock = services.clock
    offer = factories.offer(name="Amina Begum", phone="020 7946 0000", preferred_contact="phone")
    volunteer = intake.register_volunteer(services.uow(), offer, clock)
    request = intake.submit_request(services.uow(), factories.team_request(project_title="Fewer restraints"), clock)
    match = decisions.make_match(
        services.uow(), request.id, volunteer.id, "focus_group", lead, services.settings.matching, clock
    )
    with services.uow() as uow:
        (call,) = uow.calls.where(volunteer_id=volunteer.id)
    return {"call": call.id, "match": match.id, "volunteer": volunteer.id}


def token(app: Any, email: str, password: str) -> dict[str, str]:
    got = app.test_client().post("/api/v1/auth/token", json={"email": email, "password": password})
    assert got.status_code == 200, got.json
    return {"Authorization": f"Bearer {got.json['token']}"}


def test_the_api_lists_calls_and_records_one_once_with_a_note(app, services: Services) -> None:
    lead = coordinators.create_coordinator(services.uow(), LEAD_EMAIL, LEAD_PASSWORD, ["tower_hamlets"], services.clock)
    coordinators.create_coordinator(services.uow(), "luton@nhs.example", LEAD_PASSWORD, ["luton"], services.clock)
    ids = phone_introduction(services, lead)
    client, auth = app.test_client(), token(app, LEAD_EMAIL, LEAD_PASSWORD)
    other = token(app, "luton@nhs.example", LEAD_PASSWORD)

    assert client.get("/api/v1/calls").status_code == 401
    listed = client.get("/api/v1/calls", headers=auth)
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "1"
    (line,) = listed.json
    assert (line["id"], line["status"], line["reason"], line["about"]) == (ids["call"], "owed", "introduction", "match")
    assert (line["volunteer_name"], line["phone"], line["project_title"]) == (
        "Amina Begum",
        "020 7946 0000",
        "Fewer restraints",
    )
    assert client.get("/api/v1/calls", headers=other).json == []  # another area's coordinator
    bad = client.get("/api/v1/calls?status=someday", headers=auth)
    assert bad.status_code == 422 and "status" in bad.json["errors"]

    called = f"/api/v1/calls/{ids['call']}/called"
    for body in ({}, {"note": ""}, {"note": "  "}, {"note": "x" * (NOTE_MAX + 1)}):
        refused = client.post(called, json=body, headers=auth)
        assert refused.status_code == 422 and list(refused.json["errors"]) == ["note"], refused.json
    assert client.post(called, json={"note": "Rang"}, headers=other).status_code == 404
    assert client.get("/api/v1/calls?status=done", headers=auth).json == []  # nothing half-stored

    done = client.post(called, json={"note": "Spoke to Amina; she will go on Tuesday."}, headers=auth)
    assert done.status_code == 200 and done.json["status"] == "done" and done.json["called_by"] == lead.id
    again = client.post(called, json={"note": "A second note"}, headers=auth)
    assert again.status_code == 409 and "already" in again.json["message"]
    assert client.get("/api/v1/calls", headers=auth).json == []
    (made,) = client.get("/api/v1/calls?status=done", headers=auth).json
    assert made["note"] == "Spoke to Amina; she will go on Tuesday."
    export = client.get(f"/api/v1/volunteers/{ids['volunteer']}/export", headers=auth).json
    assert [c["note"] for c in export["calls"]] == ["Spoke to Amina; she will go on Tuesday."]


def test_the_call_list_page_and_recording_a_call_with_its_note(app, services: Services) -> None:
    client = app.test_client()
    sign_in_coordinator(client, services)
    with services.uow() as uow:
        (lead,) = uow.coordinators.where()
    ids = phone_introduction(services, lead)

    home = client.get("/coordinator/").get_data(as_text=True)
    assert 'href="/coordinator/calls"' in home  # in the navigation
    page = client.get("/coordinator/calls")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Calls to make" in html
    for shown in ("Amina Begum", 'href="tel:02079460000"', "Introduction", "ring about the introduction"):
        assert shown in html, shown
    assert f'href="/coordinator/matches/{ids["match"]}"' in html and "Fewer restraints" in html

    path = f"/coordinator/calls/{ids['call']}"
    blank = client.post(path, data={"csrf_token": csrf(client, path), "note": "  "})
    assert blank.status_code == 422 and 'id="f-note-error"' in blank.get_data(as_text=True)
    done = client.post(path, data={"csrf_token": csrf(client, path), "note": "Spoke to Amina; all set."})
    assert done.status_code == 303 and done.headers["Location"].endswith("/coordinator/calls")
    assert "Nobody is owed a call" in client.get("/coordinator/calls").get_data(as_text=True)
    assert "Spoke to Amina; all set." in client.get("/coordinator/calls?status=done").get_data(as_text=True)
    for timeline in (f"/coordinator/matches/{ids['match']}", f"/coordinator/volunteers/{ids['volunteer']}"):
        html = client.get(timeline).get_data(as_text=True)
        assert "Phoned by a coordinator (introduction)" in html and "Spoke to Amina; all set." in html, timeline
    # A second post changes nothing: the first note stands.
    again = client.post(path, data={"csrf_token": csrf(client, path), "note": "Another"})
    assert again.status_code == 303
    assert "Another" not in client.get(f"/coordinator/matches/{ids['match']}").get_data(as_text=True)


def test_a_feedback_call_takes_their_answers_on_its_page(app, services: Services) -> None:
    from tests.unit.test_feedback_pages import held_chat

    client = app.test_client()
    sign_in_coordinator(client, services)
    chat = held_chat(services)
    with services.uow() as uow:
        form = uow.feedback_forms.get(chat["forms"]["volunteer"])
        match = uow.matches.get(chat["match_id"])
        call = Call(match.volunteer_id, CallReason.FEEDBACK, CallSubject.FEEDBACK_FORM, form.id, services.clock.now())
        call.match_id = match.id
        uow.calls.add(call)
        uow.commit()
    path = f"/coordinator/calls/{call.id}"
    page = client.get(path).get_data(as_text=True)
    assert 'id="f-rating-2"' in page and "They want to stop" in page
    bad = client.post(path, data={"csrf_token": csrf(client, path), "note": "Rang", "rating": "7"})
    assert bad.status_code == 422 and 'id="f-rating-error"' in bad.get_data(as_text=True)
    done = client.post(
        path,
        data={"csrf_token": csrf(client, path), "note": "Meetings keep moving", "rating": "2", "wants_stop": "yes"},
    )
    assert done.status_code == 303
    with services.uow() as uow:
        (kept,) = uow.feedback_answers.where(form_id=form.id)
        assert (kept.rating, kept.wants_stop) == (2, True)
    html = client.get(f"/coordinator/matches/{match.id}").get_data(as_text=True)
    assert "by phone to a coordinator" in html and "Meetings keep moving" in html
