"""Status changes are the domain objects' own moves; an illegal one is refused in words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from matcher.domain import (
    FollowUp,
    FollowUpStatus,
    IllegalMove,
    Match,
    MatchStatus,
    RequestStatus,
    TeamRequest,
    Volunteer,
    VolunteerStatus,
)
from matcher.errors import Conflict
from tests import factories

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def match(status: str = MatchStatus.SUGGESTED) -> Match:
    return Match("r1", "v1", "focus_group", 1.0, {}, status=status)


def request(status: str = RequestStatus.OPEN) -> TeamRequest:
    data = factories.team_request()
    contact = data.pop("contact")
    return TeamRequest(**data, contact_name=contact["name"], contact_email=contact["email"], status=status)


def volunteer(status: str = VolunteerStatus.ACTIVE) -> Volunteer:
    data = factories.offer()
    data.pop("consent")
    return Volunteer(**data, consent_version="2026-01", consent_given_at=NOW, status=status)


def follow_up(status: str = FollowUpStatus.SCHEDULED) -> FollowUp:
    return FollowUp("m1", 1, NOW, status=status)


def test_a_match_is_approved_introduced_and_closed_or_rejected() -> None:
    m = match()
    m.approve("c1", NOW)
    assert (m.status, m.decided_by, m.updated_at) == (MatchStatus.APPROVED, "c1", NOW)
    m.introduce(NOW)
    m.close(NOW)
    assert m.status == MatchStatus.CLOSED
    turned_down = match()
    turned_down.reject("c1", "not the right fit", NOW)
    assert (turned_down.status, turned_down.reject_reason) == (MatchStatus.REJECTED, "not the right fit")
    committed = match(MatchStatus.APPROVED)
    committed.close(NOW)  # an approved match may end before its introduction
    assert committed.status == MatchStatus.CLOSED


@pytest.mark.parametrize(
    ("status", "move", "words"),
    [
        (MatchStatus.REJECTED, lambda m: m.approve("c1", NOW), "a rejected match cannot be approved"),
        (MatchStatus.APPROVED, lambda m: m.reject("c1", "no", NOW), "an approved match cannot be rejected"),
        (MatchStatus.SUGGESTED, lambda m: m.introduce(NOW), "a suggested match cannot be introduced"),
        (MatchStatus.SUGGESTED, lambda m: m.close(NOW), "a suggested match cannot be closed"),
        (MatchStatus.CLOSED, lambda m: m.close(NOW), "a closed match cannot be closed"),
        (MatchStatus.INTRODUCED, lambda m: m.approve("c1", NOW), "an introduced match cannot be approved"),
    ],
)
def test_a_match_refuses_a_move_its_life_does_not_allow(status, move, words) -> None:  # type: ignore[no-untyped-def]
    m = match(status)
    with pytest.raises(IllegalMove, match=words) as refused:
        move(m)
    assert isinstance(refused.value, Conflict)  # a 409 in the API and on the pages
    assert m.status == status and m.decided_by is None


def test_a_request_fills_reopens_and_closes_and_a_closed_one_stays_closed() -> None:
    r = request()
    r.fill(NOW)
    r.reopen(NOW)
    r.close(NOW)
    assert r.status == RequestStatus.CLOSED
    for move in (r.fill, r.reopen, r.close):
        with pytest.raises(IllegalMove, match="a closed request cannot be"):
            move(NOW)
    with pytest.raises(IllegalMove, match="an open request cannot be reopened"):
        request().reopen(NOW)
    with pytest.raises(IllegalMove, match="a filled request cannot be filled"):
        request(RequestStatus.FILLED).fill(NOW)


def test_a_volunteer_pauses_resumes_and_withdraws_for_good() -> None:
    v = volunteer()
    v.pause(NOW)
    v.pause(NOW)  # a new date for the same pause
    v.resume(NOW)
    v.withdraw(NOW)
    assert v.status == VolunteerStatus.WITHDRAWN
    with pytest.raises(IllegalMove, match="a withdrawn volunteer cannot be made active again"):
        v.resume(NOW)
    with pytest.raises(IllegalMove, match="a withdrawn volunteer cannot be paused"):
        v.pause(NOW)
    with pytest.raises(IllegalMove, match="an active volunteer cannot be made active again"):
        volunteer().resume(NOW)
    assert v.status == VolunteerStatus.WITHDRAWN


def test_a_follow_up_is_invited_then_reminded_and_may_be_cancelled_until_then() -> None:
    f = follow_up()
    f.invite(NOW)
    f.remind(NOW)
    assert (f.status, f.invited_at, f.reminded_at) == (FollowUpStatus.REMINDED, NOW, NOW)
    f.cancel()
    with pytest.raises(IllegalMove, match="a cancelled follow-up chat cannot be cancelled"):
        f.cancel()
    with pytest.raises(IllegalMove, match="a scheduled follow-up chat cannot be reminded of"):
        follow_up().remind(NOW)
    with pytest.raises(IllegalMove, match="an invited follow-up chat cannot be invited to"):
        follow_up(FollowUpStatus.INVITED).invite(NOW)


def test_a_pause_ends_on_the_date_stored_with_the_volunteer_not_on_the_event_log() -> None:
    from datetime import timedelta

    from matcher.services import intake, volunteer_self
    from tests.fakes import FakeClock, FakeUnitOfWork

    u, clock = FakeUnitOfWork(), FakeClock()
    v = intake.register_volunteer(u, factories.offer(), clock)
    until = clock.now().date() + timedelta(days=10)
    volunteer_self.pause_until(u, v.id, until, clock)
    assert v.paused_until == until
    u.events.rows.clear()  # the outbox is pruned after publishing: the pause must not depend on it
    clock.advance(days=10)
    assert volunteer_self.resume_due(u, clock) == [v.id]
    assert (v.status, v.paused_until) == (VolunteerStatus.ACTIVE, None)


def test_erasure_is_recorded_not_guessed_from_the_name() -> None:
    from matcher.errors import NotFound
    from matcher.services import intake, volunteer_self
    from tests.fakes import FakeClock, FakeRepository, FakeUnitOfWork

    u, clock = FakeUnitOfWork(), FakeClock()
    u.access_tokens = FakeRepository()  # type: ignore[attr-defined]
    namesake = intake.register_volunteer(u, factories.offer(name="Erased volunteer"), clock)
    volunteer_self.withdraw(u, namesake.id, clock)
    assert volunteer_self.export(u, namesake.id, clock)["offer"]["name"] == "Erased volunteer"  # still theirs

    v = intake.register_volunteer(u, factories.offer(), clock)
    volunteer_self.erase(u, v.id, clock)
    assert v.erased_at == clock.now()
    with pytest.raises(NotFound):
        volunteer_self.export(u, v.id, clock)
    with pytest.raises(IllegalMove, match="erased"):
        intake.update_volunteer(u, v.id, {"name": "Someone"}, clock)
    with pytest.raises(IllegalMove):
        v.erase(clock.now())  # once only


def test_a_requests_open_places_count_only_commitments() -> None:
    r = request()
    r.roles = [{"role": "focus_group", "count": 2}, {"role": "reviewer", "count": 1}]
    held = [match(MatchStatus.APPROVED), match(MatchStatus.INTRODUCED), match(MatchStatus.CLOSED), match()]
    held[3].role = "reviewer"
    assert r.open_places(held) == {"focus_group": 0, "reviewer": 1}


def test_only_a_suggestion_nobody_acted_on_is_withdrawn() -> None:
    decided = Match(team_request_id="r", volunteer_id="v", role="focus_group", score=1, factors={})
    decided.approve("c", NOW)
    with pytest.raises(IllegalMove, match="an approved match cannot be withdrawn as a suggestion"):
        decided.withdraw_suggestion()
    Match(team_request_id="r", volunteer_id="v", role="focus_group", score=1, factors={}).withdraw_suggestion()
