"""The workflow's use cases with in-memory fakes: no database, broker or SMTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest
from icalendar import Calendar

from matcher.adapters.letters import TemplateLetters
from matcher.config import MatchingConfig, Settings
from matcher.domain import Coordinator, FollowUpStatus, MatchStatus, RequestStatus
from matcher.errors import Conflict, NotFound
from matcher.services import decisions, endings, follow_ups, intake, introductions, outgoing, queries, suggestions
from tests import factories
from tests.fakes import FakeClock, FakeMailer, FakeUnitOfWork

CONFIG = MatchingConfig()
LEASE = 60


@pytest.fixture
def letters(tmp_path) -> TemplateLetters:  # type: ignore[no-untyped-def]
    return TemplateLetters(Settings.from_env({"QIMATCH_DATA_DIR": str(tmp_path), "QIMATCH_SECRET_KEY": "k"}))


def register(uow: FakeUnitOfWork, clock: FakeClock, **overrides):  # type: ignore[no-untyped-def]
    return intake.register_volunteer(uow, factories.offer(**overrides), clock)


def submit(uow: FakeUnitOfWork, clock: FakeClock, **overrides):  # type: ignore[no-untyped-def]
    return intake.submit_request(uow, factories.team_request(**overrides), clock)


def test_a_new_request_gets_suggestions_that_respect_the_rules(uow, clock, coordinator) -> None:
    fits = register(uow, clock)
    paused = register(uow, clock)
    intake.update_volunteer(uow, paused.id, {"status": "paused"}, clock)
    busy_tuesday = register(uow, clock, availability=[{"day": "tue", "start": "09:00", "end": "12:00"}])
    request = submit(uow, clock)

    suggestions.suggest_for_request(uow, request.id, CONFIG, clock)

    suggested = uow.matches.where(team_request_id=request.id, status=MatchStatus.SUGGESTED)
    assert [m.volunteer_id for m in suggested] == [fits.id]
    assert suggested[0].score == pytest.approx(sum(suggested[0].factors.values()))
    assert uow.kinds(match_id=suggested[0].id) == ["match.suggested"]
    why = queries.why_not_suggested(uow, request.id, busy_tuesday.id, coordinator, CONFIG)
    assert [r["rule"] for r in why.roles["focus_group"]] == ["no_slot_fits"]
    why = queries.why_not_suggested(uow, request.id, paused.id, coordinator, CONFIG)
    assert [r["rule"] for r in why.roles["focus_group"]] == ["not_active"]
    assert queries.why_not_suggested(uow, request.id, fits.id, coordinator, CONFIG).eligible


def test_the_proposed_assignment_never_exceeds_the_open_count(uow, clock) -> None:
    for _ in range(4):
        register(uow, clock)
    request = submit(uow, clock, roles=[{"role": "focus_group", "count": 2}])
    suggestions.suggest_for_request(uow, request.id, CONFIG, clock)
    found = uow.matches.where(team_request_id=request.id)
    assert sum(m.proposed for m in found) == 2
    assert len(found) == 4  # two proposed, two alternates


def test_pausing_a_volunteer_withdraws_their_suggestions(uow, clock) -> None:
    volunteer = register(uow, clock)
    request = submit(uow, clock)
    suggestions.suggest_for_request(uow, request.id, CONFIG, clock)
    intake.update_volunteer(uow, volunteer.id, {"status": "paused"}, clock)
    suggestions.rescore_for_volunteer(uow, volunteer.id, CONFIG, clock)
    assert uow.matches.where(team_request_id=request.id) == []


def test_approval_fills_the_request_and_cannot_follow_a_rejection(uow, clock, coordinator) -> None:
    a, b = register(uow, clock), register(uow, clock)
    request = submit(uow, clock)
    suggestions.suggest_for_request(uow, request.id, CONFIG, clock)
    by_volunteer = {m.volunteer_id: m for m in uow.matches.where(team_request_id=request.id)}

    decisions.reject(uow, by_volunteer[b.id].id, coordinator, "already on another project", clock)
    with pytest.raises(Conflict):
        decisions.approve(uow, by_volunteer[b.id].id, coordinator, clock)
    approved = decisions.approve(uow, by_volunteer[a.id].id, coordinator, clock)

    assert approved.status == MatchStatus.APPROVED
    assert uow.requests.get(request.id).status == RequestStatus.FILLED
    assert uow.kinds(team_request_id=request.id)[-2:] == ["match.approved", "request.filled"]


def test_a_coordinator_of_another_area_cannot_see_or_approve(uow, clock) -> None:
    register(uow, clock)
    request = submit(uow, clock)
    suggestions.suggest_for_request(uow, request.id, CONFIG, clock)
    match = uow.matches.where(team_request_id=request.id)[0]
    elsewhere = Coordinator(email="luton@nhs.example", password_hash="x", areas=["luton"])
    with pytest.raises(NotFound):
        decisions.approve(uow, match.id, elsewhere, clock)
    assert match.status == MatchStatus.SUGGESTED


def test_a_coordinators_own_match_records_the_rules_it_overrides(uow, clock, coordinator) -> None:
    volunteer = register(uow, clock, roles=["speaker"])
    request = submit(uow, clock)
    match = decisions.make_match(uow, request.id, volunteer.id, "focus_group", coordinator, CONFIG, clock)
    assert match.status == MatchStatus.APPROVED and match.origin == "coordinator"
    created = uow.events.where(match_id=match.id, kind="match.created")[0]
    assert created.data["overrides"] == ["role_not_offered"]


def test_a_coordinator_cannot_override_a_volunteers_own_exclusion(uow, clock, coordinator) -> None:
    request = submit(uow, clock)
    volunteer = register(uow, clock, excluded_teams=[request.team_name.upper()])
    with pytest.raises(Conflict, match="asked not to be matched"):
        decisions.make_match(uow, request.id, volunteer.id, "focus_group", coordinator, CONFIG, clock)


def test_a_volunteer_suggested_from_another_area_can_be_chosen_by_the_coordinator(uow, clock, coordinator) -> None:
    # Nadia lives in Newham and meets by video: she is suggested for this Tower Hamlets request.
    nadia = register(uow, clock, home_area="newham", modes=["video"])
    stranger = register(uow, clock, home_area="newham", modes=["video"], roles=["speaker"])
    request = submit(uow, clock)
    suggestions.suggest_for_request(uow, request.id, CONFIG, clock)
    match = decisions.make_match(uow, request.id, nadia.id, "focus_group", coordinator, CONFIG, clock)
    assert match.status == MatchStatus.APPROVED
    assert queries.get_volunteer(uow, nadia.id, coordinator) is nadia
    with pytest.raises(NotFound):  # never put before this coordinator
        queries.get_volunteer(uow, stranger.id, coordinator)


def test_a_volunteers_note_becomes_an_excluded_team_and_the_rescore_drops_the_suggestion(
    uow, clock, coordinator
) -> None:
    volunteer = register(uow, clock, exclusions="not ward 5 at the Royal London")
    request = submit(uow, clock, team_name="Ward 5 team")
    suggestions.suggest_for_request(uow, request.id, CONFIG, clock)
    match = uow.matches.where(team_request_id=request.id)[0]
    elsewhere = Coordinator(email="luton@nhs.example", password_hash="x", areas=["luton"])
    with pytest.raises(NotFound):
        decisions.exclude_team(uow, match.id, elsewhere, clock)

    for _ in range(2):  # the second click changes nothing
        decisions.exclude_team(uow, match.id, coordinator, clock)
    assert volunteer.excluded_teams == ["Ward 5 team"]
    assert uow.kinds(volunteer_id=volunteer.id).count("volunteer.team_excluded") == 1
    suggestions.rescore_for_volunteer(uow, volunteer.id, CONFIG, clock)
    assert uow.matches.where(team_request_id=request.id) == []


def test_only_a_suggestion_can_be_turned_into_an_excluded_team(uow, clock, coordinator) -> None:
    match = approved_match(uow, clock, coordinator)
    with pytest.raises(Conflict):
        decisions.exclude_team(uow, match.id, coordinator, clock)


def approved_match(uow, clock, coordinator):  # type: ignore[no-untyped-def]
    volunteer = register(uow, clock)
    request = submit(uow, clock)
    return decisions.make_match(uow, request.id, volunteer.id, "focus_group", coordinator, CONFIG, clock)


def test_introductions_go_once_each_even_when_the_task_runs_twice(uow, clock, coordinator, letters) -> None:
    match = approved_match(uow, clock, coordinator)
    mailer = FakeMailer()
    for _ in range(2):
        introductions.send_introductions(uow, mailer, letters, match.id, clock, CONFIG, LEASE)

    assert sorted(e.to for e in mailer.sent) == sorted(
        [uow.requests.get(match.team_request_id).contact_email, uow.volunteers.get(match.volunteer_id).email]
    )
    assert match.status == MatchStatus.INTRODUCED
    chats = uow.follow_ups.where(match_id=match.id, order_by="sequence")
    assert [f.due_at - match.intro_at for f in chats] == [timedelta(weeks=2), timedelta(weeks=8)]
    ics = [a for a in mailer.sent[0].attachments if a.filename == "invite.ics"][0]
    event = Calendar.from_ical(ics.data).walk("VEVENT")[0]
    assert event.decoded("dtstart") == match.intro_at
    # The introductory chat is at the team's Tuesday 14:00 meeting, a week or so on.
    assert match.intro_at.strftime("%a %H:%M") == "Tue 14:00"
    assert match.intro_at - clock.now() >= timedelta(days=CONFIG.intro_after_days)


def test_a_send_that_failed_is_retried_without_repeating_the_one_that_went(uow, clock, coordinator, letters) -> None:
    match = approved_match(uow, clock, coordinator)
    mailer = FakeMailer(fail_on=2)
    with pytest.raises(ConnectionError):
        introductions.send_introductions(uow, mailer, letters, match.id, clock, CONFIG, LEASE)
    assert len(mailer.sent) == 1 and match.status == MatchStatus.APPROVED
    # A retry inside the lease leaves the second claim alone; after it, sends just that one.
    introductions.send_introductions(uow, mailer, letters, match.id, clock, CONFIG, LEASE)
    assert len(mailer.sent) == 1
    clock.advance(seconds=LEASE + 1)
    assert outgoing.stalled(uow, clock, LEASE) == [introductions.delivery_key(match.id, "volunteer")]
    introductions.send_introductions(uow, mailer, letters, match.id, clock, CONFIG, LEASE)
    assert len({e.message_id for e in mailer.sent}) == len(mailer.sent) == 2
    assert match.status == MatchStatus.INTRODUCED


def test_follow_ups_are_invited_then_reminded_exactly_once(uow, clock, coordinator, letters) -> None:
    match = approved_match(uow, clock, coordinator)
    mailer = FakeMailer()
    introductions.send_introductions(uow, mailer, letters, match.id, clock, CONFIG, LEASE)
    first, second = uow.follow_ups.where(match_id=match.id, order_by="sequence")

    assert follow_ups.dispatch_due(uow, clock, CONFIG)["invitation"] == 0
    clock.current = first.due_at - timedelta(days=CONFIG.invite_lead_days)
    assert follow_ups.dispatch_due(uow, clock, CONFIG)["invitation"] == 1
    assert follow_ups.dispatch_due(uow, clock, CONFIG)["invitation"] == 0  # claimed already
    assert first.status == FollowUpStatus.INVITED and second.status == FollowUpStatus.SCHEDULED
    for _ in range(2):
        follow_ups.send_follow_up(uow, mailer, letters, first.id, "invitation", clock, LEASE)
    clock.current = first.due_at - timedelta(hours=12)
    assert follow_ups.dispatch_due(uow, clock, CONFIG)["reminder"] == 1
    follow_ups.send_follow_up(uow, mailer, letters, first.id, "reminder", clock, LEASE)

    subjects = [e.subject for e in mailer.sent[2:]]
    assert len(subjects) == 4
    assert sum(s.startswith("Follow-up chat 1") for s in subjects) == 2
    assert sum(s.startswith("Reminder") for s in subjects) == 2
    assert first.status == FollowUpStatus.REMINDED


@pytest.mark.parametrize("ending", ["withdraw", "close_request"])
def test_no_follow_up_for_a_withdrawn_volunteer_or_closed_request(uow, clock, coordinator, letters, ending) -> None:
    match = approved_match(uow, clock, coordinator)
    mailer = FakeMailer()
    introductions.send_introductions(uow, mailer, letters, match.id, clock, CONFIG, LEASE)
    if ending == "withdraw":
        intake.update_volunteer(uow, match.volunteer_id, {"status": "withdrawn"}, clock)
    else:
        endings.close_request(uow, match.team_request_id, coordinator, clock)
    assert {f.status for f in uow.follow_ups.where(match_id=match.id)} == {FollowUpStatus.CANCELLED}
    clock.advance(weeks=20)
    counts = follow_ups.dispatch_due(uow, clock, CONFIG)
    assert counts["invitation"] == counts["reminder"] == 0
    assert len(mailer.sent) == 2  # the introductions only


def test_letters_render_both_parts_and_the_subject(uow, clock, coordinator, letters) -> None:
    match = approved_match(uow, clock, coordinator)
    mailer = FakeMailer()
    introductions.send_introductions(uow, mailer, letters, match.id, clock, CONFIG, LEASE)
    from matcher.adapters.mailers import to_mime

    raw = bytes(to_mime(mailer.sent[1], "qimatch <x@y>"))
    msg = message_from_bytes(raw)
    assert msg["Subject"].startswith("Your introduction to the Team")
    kinds = [p.get_content_type() for p in msg.walk()]
    assert {"text/plain", "text/html", "text/calendar"} <= set(kinds)


def test_a_volunteer_who_prefers_phone_is_also_called(uow, clock, coordinator) -> None:
    volunteer = register(uow, clock, phone="020 7946 0000", preferred_contact="phone")
    request = submit(uow, clock)
    match = decisions.make_match(uow, request.id, volunteer.id, "focus_group", coordinator, CONFIG, clock)
    assert "call.owed" in uow.kinds(match_id=match.id)
    (call,) = uow.calls.where(volunteer_id=volunteer.id)
    assert (call.reason, call.match_id, call.done) == ("introduction", match.id, False)


def test_the_programme_wide_assignment_respects_capacity_across_requests(uow, clock) -> None:
    only = register(uow, clock, max_commitments=1)
    first, second = submit(uow, clock), submit(uow, clock)
    for request in (first, second):
        suggestions.suggest_for_request(uow, request.id, CONFIG, clock)
    figures = suggestions.propose_assignment(uow, CONFIG, clock)

    proposed = uow.matches.where(volunteer_id=only.id, proposed=True, status=MatchStatus.SUGGESTED)
    assert len(proposed) == 1  # one place of capacity: proposed once, an alternate elsewhere
    assert figures == {"requests": 2, "places_open": 2, "places_proposed": 1}
    assert uow.matches.count(volunteer_id=only.id) == 2


def test_people_who_have_waited_longest_get_a_lift(uow, clock) -> None:
    waited = register(uow, clock)
    clock.advance(days=200)
    newcomer = register(uow, clock)
    request = submit(uow, clock, roles=[{"role": "focus_group", "count": 2}])
    suggestions.suggest_for_request(uow, request.id, CONFIG, clock)
    fairness = {m.volunteer_id: m.factors["fairness"] for m in uow.matches.where(team_request_id=request.id)}
    assert fairness[waited.id] > fairness[newcomer.id]


def test_a_filled_request_keeps_no_suggestions_that_could_only_be_refused(uow, clock, coordinator) -> None:
    register(uow, clock), register(uow, clock)
    request = submit(uow, clock)
    suggestions.suggest_for_request(uow, request.id, CONFIG, clock)
    first = uow.matches.where(team_request_id=request.id, proposed=True)[0]
    decisions.approve(uow, first.id, coordinator, clock)
    assert [m.status for m in uow.matches.where(team_request_id=request.id)] == [MatchStatus.APPROVED]


def test_a_changed_offer_rescores_every_request_it_touches_in_one_run(uow, clock) -> None:
    volunteer = register(uow, clock, max_commitments=1)
    first, second = submit(uow, clock), submit(uow, clock)
    intake.update_volunteer(uow, volunteer.id, {"max_commitments": 1}, clock)
    assert suggestions.rescore_for_volunteer(uow, volunteer.id, CONFIG, clock) == 2
    mine = uow.matches.where(volunteer_id=volunteer.id)
    assert {m.team_request_id for m in mine} == {first.id, second.id}
    assert sum(m.proposed for m in mine) == 1  # capacity one: proposed once, an alternate on the other


def test_a_withdrawal_gives_the_place_back_and_the_request_reopens(uow, clock, coordinator) -> None:
    match = approved_match(uow, clock, coordinator)
    request = uow.requests.get(match.team_request_id)
    assert request.status == RequestStatus.FILLED
    intake.update_volunteer(uow, match.volunteer_id, {"status": "withdrawn"}, clock)
    assert match.status == MatchStatus.CLOSED and request.status == RequestStatus.OPEN
    assert uow.kinds(team_request_id=request.id)[-1] == "request.reopened"


def test_closing_a_match_frees_the_volunteers_capacity(uow, clock, coordinator) -> None:
    volunteer = register(uow, clock, max_commitments=1)
    first, second = submit(uow, clock), submit(uow, clock)
    match = decisions.make_match(uow, first.id, volunteer.id, "focus_group", coordinator, CONFIG, clock)
    with pytest.raises(Conflict, match="as many commitments"):
        decisions.make_match(uow, second.id, volunteer.id, "focus_group", coordinator, CONFIG, clock)
    endings.close_match(uow, match.id, coordinator, "the project finished", clock)
    again = decisions.make_match(uow, second.id, volunteer.id, "focus_group", coordinator, CONFIG, clock)
    assert again.status == MatchStatus.APPROVED


def test_follow_ups_keep_their_wall_clock_time_across_a_clock_change(uow, clock, coordinator, letters) -> None:
    from matcher.scheduling import LONDON

    clock.current = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)  # British Summer Time until 25 October
    match = approved_match(uow, clock, coordinator)
    introductions.send_introductions(uow, FakeMailer(), letters, match.id, clock, CONFIG, LEASE)
    chats = [f.due_at.astimezone(LONDON) for f in uow.follow_ups.where(match_id=match.id, order_by="sequence")]
    intro = match.intro_at.astimezone(LONDON)
    assert [c.strftime("%a %H:%M") for c in chats] == [intro.strftime("%a %H:%M")] * 2
    assert intro.utcoffset() != chats[0].utcoffset()  # the clocks changed in between


def test_an_email_that_keeps_failing_is_given_up_and_shown_on_the_timeline(uow, clock, coordinator, letters) -> None:
    match = approved_match(uow, clock, coordinator)

    class Refusing(FakeMailer):
        def send(self, email, handing=None) -> None:  # type: ignore[no-untyped-def]
            raise ConnectionError("the connection dropped before the hand-over")

    keys = [introductions.delivery_key(match.id, party) for party in ("team", "volunteer")]
    for _ in range(5):
        clock.advance(seconds=LEASE + 1)
        assert sorted(outgoing.stalled(uow, clock, LEASE)) == keys
        for key in keys:  # each email is its own worker task
            with pytest.raises(ConnectionError):
                outgoing.send_owed(uow, Refusing(), letters, key, clock, CONFIG, LEASE)
    clock.advance(seconds=LEASE + 1)
    assert outgoing.stalled(uow, clock, LEASE) == []
    assert outgoing.stalled(uow, clock, LEASE) == []
    failed = uow.events.where(match_id=match.id, kind="email.failed")
    assert sorted(e.data["to"] for e in failed) == ["team", "volunteer"]  # once each


def test_matching_someone_else_turns_the_suggestion_down_only_if_the_new_match_stands(uow, clock, coordinator) -> None:
    register(uow, clock)
    request = submit(uow, clock)
    suggestions.suggest_for_request(uow, request.id, CONFIG, clock)
    suggested = uow.matches.where(team_request_id=request.id)[0]
    excluded = register(uow, clock, excluded_teams=[request.team_name])
    with pytest.raises(Conflict):
        decisions.make_match(
            uow, request.id, excluded.id, "focus_group", coordinator, CONFIG, clock, instead_of=suggested.id
        )
    assert suggested.status == MatchStatus.SUGGESTED
    other = register(uow, clock)
    decisions.make_match(uow, request.id, other.id, "focus_group", coordinator, CONFIG, clock, instead_of=suggested.id)
    assert suggested.status == MatchStatus.REJECTED and suggested.reject_reason


def test_a_volunteer_is_never_committed_to_two_teams_that_meet_at_once(uow, clock, coordinator) -> None:
    """Rule 10: approved for one Tuesday 14:00 team, she is no longer offered (or approvable) for another."""
    nadia = register(uow, clock, max_commitments=3)
    first, second = submit(uow, clock), submit(uow, clock)  # both meet on Tuesdays 14:00-15:00
    later = submit(uow, clock, meeting_slots=[{"day": "tue", "start": "15:00", "end": "16:00"}])
    for request in (first, second, later):
        suggestions.suggest_for_request(uow, request.id, CONFIG, clock)
    suggested = {m.team_request_id: m for m in uow.matches.where(volunteer_id=nadia.id)}
    assert set(suggested) == {first.id, second.id, later.id}

    decisions.approve(uow, suggested[first.id].id, coordinator, clock)
    with pytest.raises(Conflict, match="overlap"):
        decisions.approve(uow, suggested[second.id].id, coordinator, clock)
    decisions.approve(uow, suggested[later.id].id, coordinator, clock)  # 15:00 follows 14:00: no clash

    suggestions.suggest_for_request(uow, second.id, CONFIG, clock)
    assert not uow.matches.where(team_request_id=second.id, volunteer_id=nadia.id)
    reasons = queries.why_not_suggested(uow, second.id, nadia.id, coordinator, CONFIG).roles
    assert "time_clash" in {r["rule"] for r in reasons["focus_group"]}


def test_nobody_is_booked_for_two_chats_at_once(uow, clock, coordinator, letters) -> None:
    """Two teams with flexible times, approved the same morning: her chats never coincide."""
    nadia = register(uow, clock, max_commitments=3, availability=[{"day": "mon", "start": "09:00", "end": "17:00"}])
    flexible = [submit(uow, clock, meeting_slots=[]) for _ in range(3)]
    mailer = FakeMailer()
    for request in flexible:
        suggestions.suggest_for_request(uow, request.id, CONFIG, clock)
        match = uow.matches.where(team_request_id=request.id, volunteer_id=nadia.id)[0]
        decisions.approve(uow, match.id, coordinator, clock)
        introductions.send_introductions(uow, mailer, letters, match.id, clock, CONFIG, LEASE)
    mine = uow.matches.where(volunteer_id=nadia.id)
    chats = [m.intro_at for m in mine] + [f.due_at for m in mine for f in uow.follow_ups.where(match_id=m.id)]
    assert len(chats) == 9 and all(c is not None for c in chats)
    ordered = sorted(c.astimezone(UTC) for c in chats)
    assert all(b - a >= timedelta(hours=1) for a, b in zip(ordered, ordered[1:], strict=False))
