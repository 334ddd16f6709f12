"""Retention on the real store (SQLite) and pages: who counts as inactive, and the keep link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from matcher.bootstrap import Services
from matcher.config import MatchingConfig, RetentionPolicy
from matcher.domain import Event, EventKind, MatchStatus, RetentionReview, ReviewStatus, Volunteer
from matcher.errors import Concurrent
from matcher.services import outgoing, retention
from tests import factories
from tests.fakes import FakeMailer
from tests.pages_support import CSRF

POLICY = RetentionPolicy()


def test_the_store_says_who_has_been_inactive_as_the_rule_says(services: Services) -> None:
    now = services.clock.now()
    cutoff = retention.months_before(now, 24)
    long_ago, lately = cutoff - timedelta(days=30), cutoff + timedelta(days=30)

    def person(when=long_ago, **overrides: object) -> Volunteer:  # type: ignore[no-untyped-def]
        return factories.volunteer(created_at=when, updated_at=when, **overrides)

    idle, changed, signed_in, holding, ended, suggested, kept, asked, erased = (person() for _ in range(9))
    changed.updated_at = lately
    erased.erased_at = long_ago
    request = factories.request(created_at=long_ago, updated_at=long_ago)
    with services.uow() as uow:
        for v in (idle, changed, signed_in, holding, ended, suggested, kept, asked, erased):
            uow.volunteers.add(v)
        uow.requests.add(request)
        uow.commit()
    with services.uow() as uow:
        uow.events.add(Event(EventKind.VOLUNTEER_SIGNED_IN, lately, volunteer_id=signed_in.id))
        for v, status in ((holding, MatchStatus.APPROVED), (ended, MatchStatus.CLOSED), (suggested, "suggested")):
            when = long_ago if v is holding else lately
            uow.matches.add(factories.match(v, request, status=status, created_at=long_ago, updated_at=when))
        answered = RetentionReview(kept.id, asked_at=long_ago, due_at=long_ago + timedelta(days=30))
        answered.keep(lately, "answered")
        uow.reviews.add(answered)
        uow.reviews.add(RetentionReview(asked.id, asked_at=lately, due_at=lately + timedelta(days=30)))
        uow.commit()

    with services.uow() as uow:
        inactive = set(uow.retention.inactive_volunteers(cutoff, 100))
        active = {v.id: uow.retention.active_since(v.id, cutoff) for v in (idle, changed, signed_in, holding, ended)}

    assert inactive == {idle.id, suggested.id}
    assert active == {idle.id: False, changed.id: True, signed_in.id: True, holding.id: True, ended.id: True}


def test_a_second_open_review_for_one_volunteer_is_refused_by_the_database(services: Services) -> None:
    now = services.clock.now()
    v = factories.volunteer(updated_at=now)
    with services.uow() as uow:
        uow.volunteers.add(v)
        uow.reviews.add(RetentionReview(v.id, asked_at=now, due_at=now))
        uow.commit()
    with pytest.raises(Concurrent), services.uow() as uow:
        uow.reviews.add(RetentionReview(v.id, asked_at=now, due_at=now))
        uow.commit()


def test_the_keep_link_page_keeps_the_details_and_leaves_no_secret_in_the_address(
    app: Flask, services: Services
) -> None:
    s = services
    long_ago = retention.months_before(s.clock.now(), 25)
    v = factories.volunteer(name="Olwen Idle", created_at=long_ago, updated_at=long_ago)
    with s.uow() as uow:
        uow.volunteers.add(v)
        uow.commit()
    assert retention.dispatch_due(s.uow(), s.clock, POLICY)["asked"] == 1
    mailer = FakeMailer()
    with s.uow() as uow:
        (owed,) = [str(e.data["key"]) for e in uow.events.where(kind=EventKind.EMAIL_OWED)]
    assert outgoing.send_owed(s.uow(), mailer, s.letters, owed, s.clock, MatchingConfig(), 60) == 1
    secret = mailer.sent[0].text.split("/keep/")[1].split()[0]

    client = app.test_client()
    look = client.get(f"/keep/{secret}")
    page = look.get_data(as_text=True)
    assert look.status_code == 200 and "Keep my details" in page
    assert look.headers["Referrer-Policy"] == "no-referrer" and look.headers["Cache-Control"] == "no-store"
    form = page[page.index("<form") : page.index("</form>")]
    assert 'action="/keep"' in form and f'value="{secret}"' in form
    token = CSRF.search(page)
    assert token is not None

    kept = client.post("/keep", data={"csrf_token": token.group(1), "secret": secret})
    assert kept.status_code == 303 and kept.headers["Location"] == "/keep/done"
    assert "your details are kept" in client.get("/keep/done").get_data(as_text=True)
    assert client.get(f"/keep/{secret}").status_code == 404  # answered: the link is used up
    assert client.post("/keep", data={"csrf_token": token.group(1), "secret": secret}).status_code == 404
    with s.uow() as uow:
        (review,) = uow.reviews.where()
        assert review.status == ReviewStatus.KEPT and review.kept_because == "answered"
