"""The whole loop on real parts: PostgreSQL, Redis, Celery worker and beat processes, SMTP.

Offers and a request go in through the API; the worker suggests; a coordinator
approves; both introductions arrive over SMTP with a calendar invitation; the
dispatcher, its clock moved forward, sends each follow-up invitation once.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from icalendar import Calendar

from matcher.bootstrap import Services
from matcher.services import coordinators, follow_ups
from tests import factories
from tests.fakes import FakeClock
from tests.integration.conftest import Processes, eventually
from tests.real_parts import Received, SmtpSink

pytestmark = pytest.mark.integration


def sign_in(client: FlaskClient, services: Services, areas: list[str]) -> dict[str, str]:
    email = f"lead-{'-'.join(areas)}@nhs.example"
    coordinators.create_coordinator(services.uow(), email, "correct horse battery", areas, services.clock)
    token = client.post("/api/v1/auth/token", json={"email": email, "password": "correct horse battery"}).json
    return {"Authorization": f"Bearer {token['token']}"}


def calendar_event(received: Received) -> Any:
    ics = received.part("text/calendar")
    assert ics, f"no calendar invitation in {received.message['Subject']}"
    cal = Calendar.from_ical(ics)
    assert str(cal["method"]) == "REQUEST"
    return cal.walk("VEVENT")[0]


def test_request_offer_approval_introductions_and_follow_ups(
    app, services: Services, processes: Processes, smtp: SmtpSink
) -> None:
    processes.worker()
    processes.beat()
    client = app.test_client()
    auth = sign_in(client, services, ["tower_hamlets", "luton"])

    carer = factories.offer(name="Amina Begum", kind="carer", experience=["carer_experience"])
    other = factories.offer(name="Bob Jones")
    far = factories.offer(name="Chris Far", home_area="luton", modes=["in_person"])
    ids = {}
    for person in (carer, other, far):
        response = client.post("/api/v1/volunteers", json=person)
        assert response.status_code == 201, response.json
        ids[person["name"]] = response.json["id"]
    request = factories.team_request(modes=["in_person"], experience_sought=["carer_experience"])
    response = client.post("/api/v1/team-requests", json=request)
    assert response.status_code == 201 and response.json["status"] == "open"
    request_id = response.json["id"]

    # The worker scores the request: the carer first, with reasons; the Luton volunteer left out.
    suggestions = eventually(
        lambda: (
            len(got := client.get(f"/api/v1/team-requests/{request_id}/suggestions", headers=auth).json) == 2 and got
        ),
        seconds=60,
    )
    assert [s["volunteer_name"] for s in suggestions] == ["Amina Begum", "Bob Jones"]
    assert [s["proposed"] for s in suggestions] == [True, False]
    assert suggestions[0]["factors"]["experience"] > suggestions[1]["factors"]["experience"]
    for s in suggestions:
        assert s["score"] == pytest.approx(sum(s["factors"].values()), abs=1e-5)
    why = client.get(f"/api/v1/team-requests/{request_id}/why-not?volunteer_id={ids['Chris Far']}", headers=auth).json
    assert [r["rule"] for r in why["roles"]["focus_group"]] == ["out_of_area"]

    match_id = suggestions[0]["match_id"]
    response = client.post(f"/api/v1/matches/{match_id}/approve", headers=auth)
    assert response.status_code == 200 and response.json["status"] == "approved"

    received = smtp.wait_for(2, seconds=120)
    assert sorted(r.envelope_to[0] for r in received) == sorted([request["contact"]["email"], carer["email"]])
    match = eventually(
        lambda: (m := client.get(f"/api/v1/matches/{match_id}", headers=auth).json)["status"] == "introduced" and m
    )
    for r in received:
        event = calendar_event(r)
        assert event.decoded("dtstart").isoformat() == match["intro_at"].replace("Z", "+00:00")
        assert {str(a).removeprefix("mailto:") for a in event["attendee"]} == {
            request["contact"]["email"],
            carer["email"],
        }
        assert r.part("text/plain") and r.part("text/html")
    kinds = [e["kind"] for e in match["timeline"]]
    assert kinds[:2] == ["match.suggested", "match.approved"]
    assert kinds.count("email.sent") == 2 and "match.introduced" in kinds
    times = [e["at"] for e in match["timeline"]]
    assert times == sorted(times)
    from datetime import datetime

    intro_at = datetime.fromisoformat(match["intro_at"])
    dues = [datetime.fromisoformat(f["due_at"]) - intro_at for f in match["follow_ups"]]
    assert dues == [timedelta(weeks=2), timedelta(weeks=8)]

    # Move the dispatcher's clock to each follow-up's invitation time, twice each.
    config = services.settings.matching
    for sequence, due in enumerate(dues, start=1):
        clock = FakeClock(intro_at + due - timedelta(days=config.invite_lead_days) + timedelta(minutes=1))
        for _ in range(2):
            follow_ups.dispatch_due(services.uow(), clock, config)
        invitations = eventually(
            lambda seq=sequence: (
                len(got := [r for r in smtp.received if f"Follow-up chat {seq}" in r.message["Subject"]]) >= 2 and got
            ),
        )
        for r in invitations:
            assert calendar_event(r).decoded("dtstart") == intro_at + due
    # The reminder the day before the first chat.
    clock = FakeClock(intro_at + dues[0] - timedelta(hours=12))
    follow_ups.dispatch_due(services.uow(), clock, config)
    smtp.wait_for(8, seconds=90)
    processes.stop_all()  # let anything still queued finish, then count

    per_message = Counter(r.message_id for r in smtp.received)
    assert len(per_message) == 8, [r.message["Subject"] for r in smtp.received]
    assert set(per_message.values()) == {1}, "an email arrived twice"
    # As a mail program shows it: a long subject is folded onto a second line in transit.
    subjects = Counter(" ".join(r.message["Subject"].split()).split(":")[0] for r in smtp.received)
    assert subjects["Follow-up chat 1"] == subjects["Follow-up chat 2"] == 2
    assert sum(s.startswith("Reminder") for s in subjects.elements()) == 2
