"""Retention: people inactive for the period are asked by email, then erased a month later
unless they answer; closed requests' contacts are anonymised. On fakes, with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from matcher.adapters.letters import TemplateLetters
from matcher.config import MatchingConfig, RetentionPolicy, Settings
from matcher.domain import (
    ERASED_CONTACT,
    ERASED_NAME,
    Event,
    EventKind,
    MatchStatus,
    RequestStatus,
    ReviewStatus,
    Volunteer,
)
from matcher.services import outgoing, retention
from tests import factories
from tests.fakes import FakeClock, FakeMailer, FakeUnitOfWork

POLICY = RetentionPolicy(months=24, grace_days=30)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LONG_AGO = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)  # 25 months before NOW
LATELY = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def letters(tmp_path: Path, clock: FakeClock) -> TemplateLetters:
    settings = Settings.from_env(
        {"QIMATCH_DATA_DIR": str(tmp_path), "QIMATCH_SECRET_KEY": "k", "QIMATCH_BASE_URL": "http://qimatch.test"}
    )
    return TemplateLetters(settings, clock=clock)


def person(uow: FakeUnitOfWork, last_change: datetime = LONG_AGO, **overrides: object) -> Volunteer:
    v = factories.volunteer(created_at=last_change, updated_at=last_change, **overrides)
    uow.volunteers.add(v)
    return v


def send_owed(uow: FakeUnitOfWork, mailer: FakeMailer, letters: TemplateLetters, clock: FakeClock) -> int:
    owed = [str(e.data["key"]) for e in uow.events.where(kind=EventKind.EMAIL_OWED, order_by="id")]
    return sum(
        outgoing.send_owed(uow, mailer, letters, key, clock, MatchingConfig(), 60, POLICY.grace_days) for key in owed
    )


def keep_link(mailer: FakeMailer) -> str:
    return mailer.sent[-1].text.split("/keep/")[1].split()[0]


def test_months_before_is_calendar_months() -> None:
    assert retention.months_before(NOW, 24) == datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
    assert retention.months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert retention.months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(2024, 12, 15, tzinfo=UTC)


def test_an_inactive_volunteer_is_asked_once_however_often_the_dispatcher_runs(
    uow: FakeUnitOfWork, clock: FakeClock, letters: TemplateLetters
) -> None:
    idle = person(uow, name="Olwen Idle", email="olwen@example.org")
    person(uow, last_change=LATELY)  # changed their offer 9 months ago: not asked
    mailer = FakeMailer()

    first = retention.dispatch_due(uow, clock, POLICY, mailer)
    second = retention.dispatch_due(uow, clock, POLICY, mailer)

    assert first["asked"] == 1 and second["asked"] == 0
    assert [r.volunteer_id for r in uow.reviews.where()] == [idle.id]
    assert send_owed(uow, mailer, letters, clock) == 1
    assert send_owed(uow, mailer, letters, clock) == 0  # the claim: one email, once
    (email,) = mailer.sent
    assert email.to == "olwen@example.org" and "keep your details" in email.subject.lower()
    assert "Dear Olwen" in email.text and "http://qimatch.test/keep/" in email.text
    assert "Wednesday 1 April 2026" in email.text  # the erasure date: 30 days after it was written
    assert uow.kinds(volunteer_id=idle.id) == [EventKind.RETENTION_ASKED, EventKind.EMAIL_SENT]


def test_an_unanswered_question_erases_the_volunteer_once_after_the_grace(
    uow: FakeUnitOfWork, clock: FakeClock, letters: TemplateLetters
) -> None:
    idle = person(uow, name="Olwen Idle", email="olwen@example.org", access_needs="a quiet room")
    mailer = FakeMailer()
    retention.dispatch_due(uow, clock, POLICY, mailer)
    send_owed(uow, mailer, letters, clock)

    clock.advance(days=29)
    assert retention.dispatch_due(uow, clock, POLICY, mailer)["erased"] == 0  # not yet
    assert not idle.erased
    clock.advance(days=1)
    runs = [retention.dispatch_due(uow, clock, POLICY, mailer) for _ in range(2)]

    assert [r["erased"] for r in runs] == [1, 0]
    assert idle.erased and idle.name == ERASED_NAME and idle.access_needs is None
    assert (idle.kind, idle.home_area, idle.roles) == ("service_user", "tower_hamlets", ["focus_group", "reviewer"])
    assert mailer.sent == []  # the erasure took their emails from the mailer's copies too
    (review,) = uow.reviews.where()
    assert review.status == ReviewStatus.ERASED
    erased = uow.events.where(kind=EventKind.VOLUNTEER_ERASED)
    assert [e.data for e in erased] == [{"reason": "retention"}]
    # Nobody else's turn comes up: the erased are never asked again.
    clock.advance(days=365 * 3)
    assert retention.dispatch_due(uow, clock, POLICY, mailer)["asked"] == 0


def test_keep_my_details_keeps_them_and_the_period_starts_again(
    uow: FakeUnitOfWork, clock: FakeClock, letters: TemplateLetters
) -> None:
    idle = person(uow)
    mailer = FakeMailer()
    retention.dispatch_due(uow, clock, POLICY, mailer)
    send_owed(uow, mailer, letters, clock)
    secret = keep_link(mailer)
    clock.advance(days=3)

    assert retention.open_question(uow, secret, clock) is not None  # a look does not answer
    assert retention.keep(uow, secret, clock) is True
    assert retention.keep(uow, secret, clock) is False  # used up: a second press does nothing
    assert retention.open_question(uow, secret, clock) is None

    clock.advance(days=60)
    assert retention.dispatch_due(uow, clock, POLICY, mailer) == {
        "asked": 0,
        "kept": 0,
        "erased": 0,
        "contacts_erased": 0,
        "chat_contacts_erased": 0,
    }
    assert not idle.erased
    assert [e.data for e in uow.events.where(kind=EventKind.RETENTION_KEPT)] == [{"because": "answered"}]
    # Two years after answering they are asked again, not before.
    clock.current = NOW + timedelta(days=3) + timedelta(days=365 * 2) - timedelta(days=2)
    assert retention.dispatch_due(uow, clock, POLICY, mailer)["asked"] == 0
    clock.advance(days=4)
    assert retention.dispatch_due(uow, clock, POLICY, mailer)["asked"] == 1


def test_activity_before_the_date_keeps_them_without_an_answer(
    uow: FakeUnitOfWork, clock: FakeClock, letters: TemplateLetters
) -> None:
    idle = person(uow)
    mailer = FakeMailer()
    retention.dispatch_due(uow, clock, POLICY, mailer)
    send_owed(uow, mailer, letters, clock)
    clock.advance(days=5)
    uow.events.add(Event(EventKind.VOLUNTEER_SIGNED_IN, clock.now(), volunteer_id=idle.id))  # used their link
    clock.advance(days=30)

    assert retention.dispatch_due(uow, clock, POLICY, mailer)["kept"] == 1
    assert not idle.erased
    assert uow.reviews.where()[0].kept_because == "active"


def test_nobody_with_a_commitment_or_recent_involvement_is_asked(uow: FakeUnitOfWork, clock: FakeClock) -> None:
    holding = person(uow)
    ended_lately = person(uow)
    only_suggested = person(uow)
    request = factories.request(created_at=LONG_AGO)
    uow.requests.add(request)
    for v, status, when in (
        (holding, MatchStatus.INTRODUCED, LONG_AGO),
        (ended_lately, MatchStatus.CLOSED, LATELY),
        (only_suggested, MatchStatus.SUGGESTED, LATELY),  # the programme's doing, not theirs
    ):
        uow.matches.add(factories.match(v, request, status=status, updated_at=when))

    retention.dispatch_due(uow, clock, POLICY)

    assert [r.volunteer_id for r in uow.reviews.where()] == [only_suggested.id]


def test_nobody_is_erased_before_the_question_has_gone(uow: FakeUnitOfWork, clock: FakeClock) -> None:
    idle = person(uow)
    retention.dispatch_due(uow, clock, POLICY)  # owed, but no worker has sent it (a mail outage)
    clock.advance(days=45)
    assert retention.dispatch_due(uow, clock, POLICY)["erased"] == 0
    assert not idle.erased


def test_a_question_refused_for_good_still_ends_in_erasure_after_the_grace(
    uow: FakeUnitOfWork, clock: FakeClock, letters: TemplateLetters
) -> None:
    idle = person(uow, email="gone@example.org")
    retention.dispatch_due(uow, clock, POLICY)
    send_owed(uow, FakeMailer(refuse={"gone@example.org"}), letters, clock)
    assert uow.kinds(volunteer_id=idle.id)[-1] == EventKind.EMAIL_FAILED  # the coordinator sees it
    clock.advance(days=30)
    assert retention.dispatch_due(uow, clock, POLICY)["erased"] == 1


def test_a_run_that_died_mid_erasure_is_finished_by_a_later_one(
    uow: FakeUnitOfWork, clock: FakeClock, letters: TemplateLetters
) -> None:
    idle = person(uow)
    mailer = FakeMailer()
    retention.dispatch_due(uow, clock, POLICY, mailer)
    send_owed(uow, mailer, letters, clock)
    clock.advance(days=30)
    (review,) = uow.reviews.where()
    review.begin_erasing(clock.now())  # taken by a run that then died

    assert retention.dispatch_due(uow, clock, POLICY, mailer)["erased"] == 0  # its lease still holds
    clock.advance(minutes=16)
    assert retention.dispatch_due(uow, clock, POLICY, mailer)["erased"] == 1
    assert idle.erased and review.status == ReviewStatus.ERASED


def test_a_closed_requests_contact_is_erased_after_the_period_and_an_open_ones_never(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    old_closed = factories.request(
        status=RequestStatus.CLOSED, created_at=LONG_AGO, updated_at=LONG_AGO, notes="ask for Theo on ext 4411"
    )
    lately_closed = factories.request(status=RequestStatus.CLOSED, created_at=LONG_AGO, updated_at=LATELY)
    still_open = factories.request(created_at=LONG_AGO, updated_at=LONG_AGO)
    for r in (old_closed, lately_closed, still_open):
        uow.requests.add(r)
    mailer = FakeMailer()

    runs = [retention.dispatch_due(uow, clock, POLICY, mailer)["contacts_erased"] for _ in range(2)]

    assert runs == [1, 0]
    assert old_closed.contact_name == ERASED_CONTACT and old_closed.contact_email.endswith("@invalid")
    assert old_closed.notes is None and old_closed.contact_erased_at == clock.now()
    assert (old_closed.team_name, old_closed.area, old_closed.roles) != ("", "", [])  # the figures stay
    assert lately_closed.contact_name != ERASED_CONTACT and still_open.contact_name != ERASED_CONTACT
    assert uow.kinds(team_request_id=old_closed.id) == [EventKind.REQUEST_CONTACT_ERASED]


def test_retention_can_be_turned_off(uow: FakeUnitOfWork, clock: FakeClock) -> None:
    person(uow)
    assert retention.dispatch_due(uow, clock, RetentionPolicy(months=0)) == {
        "asked": 0,
        "kept": 0,
        "erased": 0,
        "contacts_erased": 0,
        "chat_contacts_erased": 0,
    }
    assert Settings.from_env({"QIMATCH_RETENTION_MONTHS": "0", "QIMATCH_SECRET_KEY": "k"}).retention.enabled is False
    assert Settings.from_env({"QIMATCH_SECRET_KEY": "k"}).retention == RetentionPolicy(24, 30)


def test_a_stalled_question_belongs_on_the_volunteers_timeline(uow: FakeUnitOfWork, clock: FakeClock) -> None:
    idle = person(uow)
    retention.dispatch_due(uow, clock, POLICY)
    (key,) = [str(e.data["key"]) for e in uow.events.where(kind=EventKind.EMAIL_OWED)]
    assert outgoing.about(uow, key) == {"data": {"letter": "retention", "to": "volunteer"}, "volunteer_id": idle.id}


def test_the_timeline_says_why_someone_was_erased_or_kept() -> None:
    from web.pages import describe

    erased = Event(EventKind.VOLUNTEER_ERASED, NOW, data={"reason": "retention"})
    kept = Event(EventKind.RETENTION_KEPT, NOW, data={"because": "active"})
    assert "no activity for the retention period" in describe(erased)
    assert describe(Event(EventKind.VOLUNTEER_ERASED, NOW)) == "Personal details erased at their request"
    assert describe(kept) == "Details kept: they were active again before the date"


def test_someone_who_withdrew_is_told_so_and_erased_after_the_grace(
    uow: FakeUnitOfWork, clock: FakeClock, letters: TemplateLetters
) -> None:
    stopped = person(uow, status="withdrawn")
    mailer = FakeMailer()
    retention.dispatch_due(uow, clock, POLICY, mailer)
    send_owed(uow, mailer, letters, clock)
    assert "You stopped being involved" in mailer.sent[0].text and "/link" not in mailer.sent[0].text
    clock.advance(days=30)
    assert retention.dispatch_due(uow, clock, POLICY, mailer)["erased"] == 1
    assert stopped.erased and stopped.status == "withdrawn"
