"""Feedback and the digest on real parts: PostgreSQL, Redis, a Celery worker and beat, SMTP.

A follow-up chat whose time has passed: beat's dispatcher owes both forms, the worker
emails them; the volunteer answers poorly through the emailed link; their coordinator's
alert arrives within a minute; then the coordinator's digest arrives, listing it with a
link to its page. Every email arrives once. And two answers to one form at the same
moment keep one.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from matcher.bootstrap import Services
from matcher.domain import FollowUpStatus, MatchStatus
from matcher.scheduling import LONDON
from matcher.services import coordinators, digest, feedback
from tests import factories
from tests.fakes import FakeClock
from tests.integration.conftest import Processes, eventually
from tests.real_parts import Received, SmtpSink

pytestmark = pytest.mark.integration
LEAD = "lead@nhs.example"


def held_chat(services: Services, hours_ago: float = 2, n: int = 0) -> dict[str, Any]:
    """An introduced match whose first follow-up chat (invited to) started ``hours_ago``;
    ``n`` makes the people's addresses differ, for many chats at once."""
    now = datetime.now(UTC)
    stamps = {"created_at": now, "updated_at": now}
    suffix = str(n) if n else ""
    volunteer = factories.volunteer(name="Amina Begum", email=f"amina{suffix}@example.org", **stamps)
    request = factories.request(project_title="Fewer restraints on Ward 5", **stamps)
    request.contact_email = request.contact_email_key = f"sam.lead{suffix}@nhs.example"
    match = factories.match(
        volunteer, request, status=MatchStatus.INTRODUCED, intro_at=now - timedelta(weeks=2), **stamps
    )
    chat = factories.follow_up(match, status=FollowUpStatus.INVITED, due_at=now - timedelta(hours=hours_ago))
    with services.uow() as uow:
        uow.volunteers.add(volunteer)
        uow.requests.add(request)
        uow.commit()
        uow.matches.add(match)
        uow.commit()
        uow.follow_ups.add(chat)
        uow.commit()
    return {"match_id": match.id, "volunteer": volunteer.email, "team": request.contact_email}


def link_in(received: Received) -> str:
    text = received.part("text/plain").decode()
    found = re.search(r"http://qimatch\.test(/feedback/[A-Za-z0-9_\-]+)", text)
    assert found, text
    return found.group(1)


def subject(received: Received) -> str:
    return " ".join(str(received.message["Subject"]).split())


def test_feedback_after_a_chat_a_poor_answer_alerts_the_coordinator_and_the_digest_arrives(
    app: Flask, services: Services, processes: Processes, smtp: SmtpSink
) -> None:
    coordinators.create_coordinator(services.uow(), LEAD, "correct horse battery", ["tower_hamlets"], services.clock)
    coordinators.create_coordinator(
        services.uow(), "luton@nhs.example", "correct horse battery", ["luton"], services.clock
    )
    for c in (LEAD, "luton@nhs.example"):  # off until the test turns the lead's on, below
        with services.uow() as uow:
            who = uow.coordinators.where(email=c)[0].id
        digest.set_time(services.uow(), who, None, services.clock)
    chat = held_chat(services)
    processes.worker()
    processes.beat()

    # Beat's dispatcher finds the chat over, and the worker emails each side its form.
    forms = smtp.wait_for(2, seconds=90)
    assert sorted(r.envelope_to[0] for r in forms) == sorted([chat["team"], chat["volunteer"]])
    assert all(subject(r).startswith("How is it going?") for r in forms)
    (to_volunteer,) = smtp.to(chat["volunteer"])

    # The volunteer answers through their link: badly, and they want to stop.
    client = app.test_client()
    path = link_in(to_volunteer)
    page = client.get(path)
    assert page.status_code == 200 and "Hello Amina" in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    answered_at = time.monotonic()
    secret = path.rsplit("/", 1)[1]
    answers = {"csrf_token": token, "secret": secret, "rating": "1", "wants_stop": "yes", "note": "Too far"}
    done = client.post("/feedback", data=answers)
    assert done.status_code == 303

    # The area's coordinator hears within a minute; the other area's does not.
    alert = eventually(lambda: smtp.to(LEAD), seconds=60)[0]
    assert time.monotonic() - answered_at < 60
    assert subject(alert) == "Feedback needs you: Fewer restraints on Ward 5"
    body = alert.part("text/plain").decode()
    assert "1 out of 5" in body and "wants to stop" in body and "Too far" not in body
    assert f"http://qimatch.test/coordinator/matches/{chat['match_id']}" in body

    # The API lists the answer; the timeline holds the codes.
    auth_token = client.post("/api/v1/auth/token", json={"email": LEAD, "password": "correct horse battery"}).json
    auth = {"Authorization": f"Bearer {auth_token['token']}"}
    listed = client.get(f"/api/v1/matches/{chat['match_id']}/feedback", headers=auth).json
    assert {(f["party"], f["status"], f["rating"]) for f in listed} == {
        ("team", "asked", None),
        ("volunteer", "answered", 1),
    }
    kinds = [e["kind"] for e in client.get(f"/api/v1/matches/{chat['match_id']}", headers=auth).json["timeline"]]
    assert "feedback.asked" in kinds and "feedback.answered" in kinds

    # The lead turns the digest on for this very minute: beat makes it and the worker sends it.
    this_minute = datetime.now(LONDON).strftime("%H:%M")
    put = client.put("/api/v1/coordinators/me/digest", json={"digest_time": this_minute}, headers=auth)
    assert put.status_code == 200
    digests = eventually(lambda: [r for r in smtp.to(LEAD) if subject(r).startswith("Your qimatch digest")], 60)
    text = digests[0].part("text/plain").decode()
    assert "Poor feedback" in text and "Fewer restraints on Ward 5" in text and "wants to stop" in text
    assert f"http://qimatch.test/coordinator/matches/{chat['match_id']}" in text

    time.sleep(6)  # three more beats: nothing more is owed
    processes.stop_all()
    per_message = Counter(r.message_id for r in smtp.received)
    assert set(per_message.values()) == {1}, "an email arrived twice"
    assert len(per_message) == 4, [subject(r) for r in smtp.received]  # two forms, the alert, the digest
    assert not smtp.to("luton@nhs.example")


def test_two_answers_to_one_form_at_the_same_moment_keep_one(services: Services, clean: None) -> None:
    coordinators.create_coordinator(services.uow(), LEAD, "correct horse battery", ["tower_hamlets"], services.clock)
    chat = held_chat(services)
    clock = FakeClock(datetime.now(UTC))
    assert feedback.dispatch_due(services.uow(), clock, services.settings.matching)["asked"] == 2
    with services.uow() as uow:
        (form,) = uow.feedback_forms.where(match_id=chat["match_id"], party="volunteer")
    results: list[Any] = []
    start = threading.Barrier(4)

    def answer(rating: int) -> None:
        start.wait()
        results.append(feedback.answer(services.uow(), form.id, {"rating": rating, "wants_call": True}, clock))

    threads = [threading.Thread(target=answer, args=(r,)) for r in (1, 2, 4, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.recorded for r in results) == [False, False, False, True]
    with services.uow() as uow:
        assert uow.feedback_answers.count(form_id=form.id) == 1
        alerts = [e for e in uow.events.where(kind="email.owed") if "feedback_alert" in e.data["key"]]
        assert len(alerts) == 1  # one answer, one alert for the one coordinator
        assert len(uow.events.where(kind="feedback.answered")) == 1
