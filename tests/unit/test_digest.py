"""The coordinators' daily digest, on fakes: made once per coordinator and day at their time,
holding what needs them in their areas, never sent empty, and theirs to move or turn off."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from matcher.config import MatchingConfig
from matcher.domain import Coordinator, DigestStatus, Event, EventKind, MatchStatus
from matcher.errors import Invalid
from matcher.scheduling import LONDON
from matcher.services import digest, outgoing
from tests import factories
from tests.fakes import FakeClock, FakeMailer, FakeUnitOfWork
from tests.unit.test_feedback import CONFIG, answered, lead
from tests.unit.test_letters import LEASE, letters_for

# 07:59 on a London winter morning (GMT): a minute before the default digest time.
BEFORE = datetime(2026, 3, 3, 7, 59, tzinfo=LONDON)


def programme(tmp_path: Any) -> tuple[FakeUnitOfWork, FakeClock, FakeMailer, Any, Coordinator]:
    uow, clock, mailer = FakeUnitOfWork(), FakeClock(BEFORE), FakeMailer()
    coordinator = factories.coordinator(email="lead@nhs.example", name="Sam")
    uow.coordinators.add(coordinator)
    return uow, clock, mailer, letters_for(tmp_path, clock), coordinator


def waiting_suggestion(uow: FakeUnitOfWork, created_at: datetime, area: str = "tower_hamlets", title: str = "") -> Any:
    request = factories.request(area=area, **({"project_title": title} if title else {}))
    volunteer = factories.volunteer()
    match = factories.match(volunteer, request, created_at=created_at)
    for thing, repo in ((request, uow.requests), (volunteer, uow.volunteers), (match, uow.matches)):
        repo.add(thing)  # type: ignore[attr-defined]
    return match


def digest_keys(uow: FakeUnitOfWork) -> list[str]:
    return [k for k in uow.deliveries.claims if k.startswith("digest:")]


def test_nothing_to_tell_sends_nothing(tmp_path: Any) -> None:
    uow, clock, mailer, letters, coordinator = programme(tmp_path)
    assert digest.dispatch_due(uow, clock, CONFIG)["owed"] == 0
    clock.advance(minutes=1)
    assert digest.dispatch_due(uow, clock, CONFIG) == {"planned": 0, "owed": 0, "empty": 1}
    (row,) = uow.digests.rows.values()
    assert row.status == DigestStatus.EMPTY and not digest_keys(uow)


def test_the_digest_goes_at_the_coordinators_time_once_however_many_beats(tmp_path: Any) -> None:
    uow, clock, mailer, letters, coordinator = programme(tmp_path)
    waiting_suggestion(uow, BEFORE - timedelta(hours=3), title="Fewer falls on Ward 2")
    assert digest.dispatch_due(uow, clock, CONFIG)["planned"] == 1
    assert not digest_keys(uow)  # made ahead, not due yet
    clock.advance(minutes=1)
    for _ in range(3):
        digest.dispatch_due(uow, clock, CONFIG)
    assert digest_keys(uow) == [digest.delivery_key(coordinator.id, BEFORE.date())]
    for _ in range(2):
        outgoing.send_owed(uow, mailer, letters, digest_keys(uow)[0], clock, CONFIG, LEASE)
    (letter,) = mailer.sent
    assert letter.to == "lead@nhs.example"
    assert letter.subject == "Your qimatch digest for Tuesday 3 March: 1 item"
    assert "Fewer falls on Ward 2" in letter.text
    assert "/coordinator/requests/" in letter.text and "/coordinator/digest" in letter.text
    # The next day: a new row, counting from this one's time.
    clock.advance(days=1)
    digest.dispatch_due(uow, clock, CONFIG)
    rows = sorted(uow.digests.rows.values(), key=lambda d: d.day)
    assert len(rows) == 2 and rows[1].since == rows[0].due_at


def test_its_items_are_what_needs_the_coordinator_in_their_areas_each_linked(tmp_path: Any) -> None:
    uow, clock, mailer, letters, coordinator = programme(tmp_path)
    clock.advance(minutes=1)
    until = clock.now()
    since = until - timedelta(days=1)
    waiting_suggestion(uow, until - timedelta(hours=2), title="New one")
    waiting_suggestion(uow, until - timedelta(days=CONFIG.digest_pending_days, hours=1), title="Old one")
    waiting_suggestion(uow, until - timedelta(hours=2), area="luton", title="Not theirs")
    failed = waiting_suggestion(uow, until - timedelta(days=30), title="Lost email")
    failed.status = MatchStatus.INTRODUCED
    uow.events.add(
        Event.of_match(EventKind.EMAIL_FAILED, failed, until - timedelta(hours=1), letter="introduction", to="team")
    )
    uow.events.add(Event.of_match(EventKind.EMAIL_FAILED, failed, since - timedelta(hours=1), letter="x", to="team"))
    found = digest.contents(uow, coordinator, since, until, CONFIG)
    kinds = {(i.kind, i.title) for i in found.items}
    assert kinds == {
        ("new_suggestions", "New one"),
        ("waiting", "Old one"),
        ("failed_email", "Lost email"),
    }
    assert next(i for i in found.items if i.kind == "failed_email").path == f"/coordinator/matches/{failed.id}"


def test_poor_feedback_and_calls_are_in_the_digest_of_that_day(tmp_path: Any) -> None:
    uow, clock, mailer, letters, form, _ = answered(tmp_path, rating=1, wants_call=True, wants_stop=True)
    coordinator = lead(uow)
    found = digest.contents(uow, coordinator, clock.now() - timedelta(days=1), clock.now() + timedelta(1), CONFIG)
    # The volunteer's call asked for is on the call list, which the digest holds.
    assert [i.kind for i in found.items if i.kind in ("poor_feedback", "call_request", "owed_call")] == [
        "poor_feedback",
        "owed_call",
    ]
    poor = found.of("poor_feedback")[0]
    assert poor.path == f"/coordinator/matches/{form.match_id}"
    assert "wants to stop" in poor.detail and "rating 1" in poor.detail
    letter = letters.digest(coordinator, found, "digest:x:2026-03-03")
    assert "Poor feedback" in letter.text and "Calls owed, oldest first" in letter.text
    assert "Amina: " in letter.text and "/coordinator/calls" in letter.text
    assert f"http://127.0.0.1:5000/coordinator/matches/{form.match_id}" in letter.text  # QIMATCH_BASE_URL


def test_a_coordinator_moves_their_digest_or_turns_it_off(tmp_path: Any) -> None:
    uow, clock, mailer, letters, coordinator = programme(tmp_path)
    waiting_suggestion(uow, BEFORE - timedelta(hours=3))
    digest.dispatch_due(uow, clock, CONFIG)  # today's row, due at 08:00
    digest.set_time(uow, coordinator.id, "09:30", clock)
    assert [(e.action, e.subject_id) for e in uow.audit.rows.values()] == [("coordinator.digest", coordinator.id)]
    (row,) = uow.digests.rows.values()
    assert row.due_at == datetime(2026, 3, 3, 9, 30, tzinfo=LONDON)
    clock.current = datetime(2026, 3, 3, 9, 29, tzinfo=LONDON)
    digest.dispatch_due(uow, clock, CONFIG)
    assert not digest_keys(uow)
    digest.set_time(uow, coordinator.id, None, clock)
    assert row.status == DigestStatus.OFF
    digest.dispatch_due(uow, clock, CONFIG)
    assert not digest_keys(uow)
    # Back on the same day it was turned off, at a time already past: today's comes now.
    digest.set_time(uow, coordinator.id, "07:00", clock)
    digest.dispatch_due(uow, clock, CONFIG)
    assert len(digest_keys(uow)) == 1
    # Off: no rows are made on the days after.
    digest.set_time(uow, coordinator.id, None, clock)
    clock.advance(days=2)
    digest.dispatch_due(uow, clock, CONFIG)
    assert len(uow.digests.rows) == 1


@pytest.mark.parametrize("bad", ["8", "25:00", "08:60", "eight", ""])
def test_a_digest_time_that_is_not_hh_mm_is_refused_by_name(tmp_path: Any, bad: str) -> None:
    uow, clock, _, _, coordinator = programme(tmp_path)
    with pytest.raises(Invalid) as refused:
        digest.set_time(uow, coordinator.id, bad, clock)
    assert list(refused.value.errors) == ["digest_time"]
    assert coordinator.digest_time == "08:00"


def test_a_digest_turned_off_after_it_was_owed_is_not_sent(tmp_path: Any) -> None:
    uow, clock, mailer, letters, coordinator = programme(tmp_path)
    waiting_suggestion(uow, BEFORE - timedelta(hours=3))
    clock.advance(minutes=1)
    digest.dispatch_due(uow, clock, CONFIG)
    coordinator.digest_time = None
    assert outgoing.send_owed(uow, mailer, letters, digest_keys(uow)[0], clock, CONFIG, LEASE) == 0
    assert not mailer.sent


def test_the_pending_days_are_a_setting(tmp_path: Any) -> None:
    assert MatchingConfig().digest_pending_days == 3
    path = tmp_path / "matching.json"
    path.write_text('{"digest_pending_days": "5", "feedback_reminder_days": 2}')
    config = MatchingConfig.from_file(path)
    assert (config.digest_pending_days, config.feedback_reminder_days) == (5, 2)


def test_a_coordinator_who_joins_after_the_days_digest_time_starts_tomorrow(tmp_path: Any) -> None:
    uow, clock, mailer, letters, coordinator = programme(tmp_path)
    waiting_suggestion(uow, BEFORE - timedelta(hours=3))
    clock.current = BEFORE + timedelta(hours=4)
    coordinator.created_at = clock.now() - timedelta(minutes=5)  # joined at 11:54, after 08:00
    digest.dispatch_due(uow, clock, CONFIG)
    assert not uow.digests.rows and not digest_keys(uow)
    clock.advance(days=1)
    assert digest.dispatch_due(uow, clock, CONFIG)["planned"] == 1
    # Choosing a time on their first day brings today's: at once, when that time has passed.
    uow2, clock2, _, _, newcomer = programme(tmp_path)
    waiting_suggestion(uow2, BEFORE - timedelta(hours=3))
    clock2.current = BEFORE + timedelta(hours=4)
    newcomer.created_at = clock2.now() - timedelta(minutes=5)
    digest.set_time(uow2, newcomer.id, "11:00", clock2)
    digest.dispatch_due(uow2, clock2, CONFIG)
    assert len(digest_keys(uow2)) == 1


def test_a_deactivated_coordinator_gets_no_digest(tmp_path: Any) -> None:
    uow, clock, _, _, coordinator = programme(tmp_path)
    coordinator.active = False
    waiting_suggestion(uow, BEFORE - timedelta(hours=3))
    clock.advance(minutes=1)
    digest.dispatch_due(uow, clock, CONFIG)
    assert not uow.digests.rows and not digest_keys(uow)
