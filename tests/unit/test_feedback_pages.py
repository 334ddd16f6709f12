"""The feedback form, the API's feedback and digest resources and the coordinators' pages for
them, through Flask's test client on SQLite (the fast tier)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient

from matcher.bootstrap import Services
from matcher.domain import FollowUpStatus, MatchStatus, TokenPurpose
from matcher.services import coordinators, feedback, links
from tests import factories
from tests.fakes import FakeClock
from tests.pages_support import CSRF, LEAD_EMAIL, LEAD_PASSWORD, csrf, sign_in_coordinator


def held_chat(services: Services, area: str = "tower_hamlets") -> dict[str, Any]:
    """An introduced match whose first follow-up chat ended an hour ago; both forms asked.
    Returns the match id and each side's form id and link secret."""
    now = datetime.now(UTC)
    stamps = {"created_at": now, "updated_at": now}
    volunteer = factories.volunteer(name="Amina Begum", **stamps)
    request = factories.request(area=area, project_title="Fewer restraints on Ward 5", **stamps)
    match = factories.match(
        volunteer, request, status=MatchStatus.INTRODUCED, intro_at=now - timedelta(weeks=2), **stamps
    )
    chat = factories.follow_up(match, status=FollowUpStatus.INVITED, due_at=now - timedelta(hours=2))
    with services.uow() as uow:
        uow.volunteers.add(volunteer)
        uow.requests.add(request)
        uow.commit()
        uow.matches.add(match)
        uow.commit()
        uow.follow_ups.add(chat)
        uow.commit()
    clock = FakeClock(now)
    assert feedback.dispatch_due(services.uow(), clock, services.settings.matching)["asked"] == 2
    with services.uow() as uow:
        forms = {f.party: f.id for f in uow.feedback_forms.where(match_id=match.id)}
    secrets = {
        party: links.issue(services.uow(), TokenPurpose.FEEDBACK_FORM, form_id, clock, timedelta(days=30))  # type: ignore[arg-type]
        for party, form_id in forms.items()
    }
    return {"match_id": match.id, "forms": forms, "secrets": secrets}


def answer(client: FlaskClient, secret: str, **fields: Any) -> Any:
    page = client.get(f"/feedback/{secret}")
    found = CSRF.search(page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)[:500]
    return client.post("/feedback", data={"csrf_token": found.group(1), "secret": secret, **fields})


def test_the_form_is_answered_once_and_a_second_answer_gets_a_polite_page(app, services: Services) -> None:
    chat = held_chat(services)
    client = app.test_client()
    page = client.get(f"/feedback/{chat['secrets']['volunteer']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Hello Amina" in html and "Fewer restraints on Ward 5" in html
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"

    done = answer(client, chat["secrets"]["volunteer"], rating="4", note="Going well")
    assert done.status_code == 303 and done.headers["Location"].endswith("/feedback/thanks")
    again = client.get(f"/feedback/{chat['secrets']['volunteer']}")
    assert again.status_code == 200 and "You have answered this form already" in again.get_data(as_text=True)
    with services.uow() as uow:
        (kept,) = uow.feedback_answers.where(match_id=chat["match_id"])
    assert (kept.rating, kept.wants_stop, kept.note) == (4, False, "Going well")
    # Two tabs: a form opened before the first answer and sent after it.
    token = csrf(client, "/feedback/" + chat["secrets"]["team"])
    form = {"csrf_token": token, "secret": chat["secrets"]["team"]}
    first = client.post("/feedback", data={**form, "rating": "5"})
    second = client.post("/feedback", data={**form, "rating": "1"})
    assert first.status_code == 303
    assert second.status_code == 409 and "answered this form already" in second.get_data(as_text=True)
    with services.uow() as uow:
        assert uow.feedback_answers.count(match_id=chat["match_id"]) == 2


def test_a_poor_answer_says_the_coordinator_was_told_and_owes_their_email(app, services: Services) -> None:
    coordinators.create_coordinator(services.uow(), LEAD_EMAIL, LEAD_PASSWORD, ["tower_hamlets"], services.clock)
    chat = held_chat(services)
    client = app.test_client()
    done = answer(client, chat["secrets"]["team"], rating="3", wants_call="yes")
    assert done.status_code == 303 and "alerted=1" in done.headers["Location"]
    assert "told straight away" in client.get(done.headers["Location"]).get_data(as_text=True)
    with services.uow() as uow:
        owed = [e.data["key"] for e in uow.events.where(kind="email.owed") if "feedback_alert" in e.data["key"]]
    assert len(owed) == 1


def test_a_form_without_a_rating_is_refused_by_name_and_nothing_is_kept(app, services: Services) -> None:
    chat = held_chat(services)
    client = app.test_client()
    page = answer(client, chat["secrets"]["volunteer"], note="kept as typed")
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'href="#f-rating"' in html and "Choose how it is going, from 1 to 5." in html
    assert "kept as typed" in html
    assert answer(client, chat["secrets"]["volunteer"], rating="9").status_code == 422
    with services.uow() as uow:
        assert uow.feedback_answers.count() == 0


def test_an_unknown_link_is_a_dead_link(app) -> None:
    client = app.test_client()
    assert client.get("/feedback/nothing-here").status_code == 404
    token = csrf(client, "/volunteer/sign-up")
    assert client.post("/feedback", data={"csrf_token": token, "secret": "nothing", "rating": "3"}).status_code == 404


def api_token(client: FlaskClient) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", json={"email": LEAD_EMAIL, "password": LEAD_PASSWORD}).json
    return {"Authorization": f"Bearer {token['token']}"}


def test_the_api_lists_a_matchs_feedback_within_the_coordinators_areas(app, services: Services) -> None:
    coordinators.create_coordinator(services.uow(), LEAD_EMAIL, LEAD_PASSWORD, ["tower_hamlets"], services.clock)
    chat = held_chat(services)
    elsewhere = held_chat(services, area="luton")
    client = app.test_client()
    answer(client, chat["secrets"]["volunteer"], rating="2", note="Hard to get there")
    auth = api_token(client)
    listed = client.get(f"/api/v1/matches/{chat['match_id']}/feedback", headers=auth)
    assert listed.status_code == 200
    by_party = {f["party"]: f for f in listed.json}
    assert by_party["volunteer"]["rating"] == 2 and by_party["volunteer"]["poor"] is True
    assert by_party["volunteer"]["note"] == "Hard to get there" and by_party["volunteer"]["status"] == "answered"
    assert by_party["team"]["status"] == "asked" and by_party["team"]["rating"] is None
    assert by_party["team"]["follow_up_sequence"] == 1
    assert client.get(f"/api/v1/matches/{elsewhere['match_id']}/feedback", headers=auth).status_code == 404
    assert client.get(f"/api/v1/matches/{chat['match_id']}/feedback").status_code == 401
    answer_id = by_party["volunteer"]["answer_id"]
    assert by_party["team"]["answer_id"] is None
    handled = client.post(f"/api/v1/matches/{chat['match_id']}/feedback/{answer_id}/handled", headers=auth)
    assert handled.status_code == 200 and handled.json["handled_at"]
    wrong = client.post(f"/api/v1/matches/{elsewhere['match_id']}/feedback/{answer_id}/handled", headers=auth)
    assert wrong.status_code == 404


def test_the_api_sets_a_coordinators_digest_time_or_turns_it_off(app, services: Services) -> None:
    coordinators.create_coordinator(services.uow(), LEAD_EMAIL, LEAD_PASSWORD, ["tower_hamlets"], services.clock)
    client = app.test_client()
    auth = api_token(client)
    assert client.get("/api/v1/coordinators/me/digest", headers=auth).json == {"digest_time": "08:00"}
    bad = client.put("/api/v1/coordinators/me/digest", json={"digest_time": "7am"}, headers=auth)
    assert bad.status_code == 422 and list(bad.json["errors"]) == ["digest_time"]
    assert client.get("/api/v1/coordinators/me/digest", headers=auth).json == {"digest_time": "08:00"}
    moved = client.put("/api/v1/coordinators/me/digest", json={"digest_time": "07:15"}, headers=auth)
    assert moved.status_code == 200 and moved.json == {"digest_time": "07:15"}
    off = client.put("/api/v1/coordinators/me/digest", json={"digest_time": None}, headers=auth)
    assert off.json == {"digest_time": None}


def test_the_dashboard_shows_poor_feedback_until_it_is_dealt_with(app, services: Services) -> None:
    client = app.test_client()
    token = sign_in_coordinator(client, services)
    chat = held_chat(services)
    answer(app.test_client(), chat["secrets"]["volunteer"], rating="1", wants_stop="yes", note="I cannot go on")
    html = client.get("/coordinator/").get_data(as_text=True)
    assert "Feedback that needs you" in html and "wants to stop" in html
    match_page = client.get(f"/coordinator/matches/{chat['match_id']}").get_data(as_text=True)
    assert "I cannot go on" in match_page and "Feedback answered" in match_page
    with services.uow() as uow:
        (kept,) = uow.feedback_answers.where(match_id=chat["match_id"])
    done = client.post(f"/coordinator/feedback/{kept.id}/handled", data={"csrf_token": token})
    assert done.status_code == 303
    assert "Feedback that needs you" not in client.get("/coordinator/").get_data(as_text=True)


def test_the_digest_page_changes_the_time_or_turns_it_off(app, services: Services) -> None:
    client = app.test_client()
    sign_in_coordinator(client, services)
    token = csrf(client, "/coordinator/digest")
    bad = client.post("/coordinator/digest", data={"csrf_token": token, "digest_on": "yes", "digest_time": "25:00"})
    assert bad.status_code == 422 and 'href="#f-digest_time"' in bad.get_data(as_text=True)
    ok = client.post("/coordinator/digest", data={"csrf_token": token, "digest_on": "yes", "digest_time": "07:30"})
    assert ok.status_code == 303
    with services.uow() as uow:
        assert uow.coordinators.where(email=LEAD_EMAIL)[0].digest_time == "07:30"
    client.post("/coordinator/digest", data={"csrf_token": token, "digest_time": "07:30"})
    with services.uow() as uow:
        assert uow.coordinators.where(email=LEAD_EMAIL)[0].digest_time is None


def test_the_programme_page_shows_response_rate_and_median_rating(app, services: Services) -> None:
    client = app.test_client()
    sign_in_coordinator(client, services)
    chat = held_chat(services)
    answer(app.test_client(), chat["secrets"]["volunteer"], rating="4")
    html = client.get("/coordinator/programme").get_data(as_text=True)
    assert "Feedback after follow-up chats" in html
    this_month = datetime.now(UTC).strftime("%B %Y")
    section = html[html.index("Feedback after follow-up chats") :]
    row = section[section.index(this_month) :].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)  # forms sent, answered, rate, median rating
    assert cells == ["2", "1", "50%", "4"], row
    csv = client.get("/coordinator/programme.csv").get_data(as_text=True)
    assert "feedback_response_rate" in csv and "feedback_median_rating" in csv
