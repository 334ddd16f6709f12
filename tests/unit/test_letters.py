"""What people read in the emails: the words and the calendar invitations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from icalendar import Calendar

from matcher.adapters.letters import TemplateLetters
from matcher.config import MatchingConfig, Settings
from matcher.domain import Coordinator, FollowUp
from matcher.errors import Invalid
from matcher.scheduling import LONDON
from matcher.services import decisions, deliveries, endings, follow_ups, intake, introductions, meetings, outgoing
from tests import factories
from tests.fakes import FakeClock, FakeMailer, FakeUnitOfWork

LEASE = 60


def letters_for(tmp_path: Any, clock: FakeClock, config: MatchingConfig | None = None) -> TemplateLetters:
    settings = Settings.from_env({"QIMATCH_DATA_DIR": str(tmp_path), "QIMATCH_SECRET_KEY": "k"})
    if config is not None:
        from dataclasses import replace

        settings = replace(settings, matching=config)
    return TemplateLetters(settings, clock=clock)


def introduced(
    tmp_path: Any, config: MatchingConfig | None = None, **request: Any
) -> tuple[FakeUnitOfWork, FakeClock, FakeMailer, TemplateLetters, Any]:
    uow, clock, mailer = FakeUnitOfWork(), FakeClock(), FakeMailer()
    config = config or MatchingConfig()
    letters = letters_for(tmp_path, clock, config)
    coordinator = Coordinator(email="lead@nhs.example", password_hash="x", areas=["tower_hamlets"])
    uow.coordinators.add(coordinator)
    volunteer = intake.register_volunteer(uow, factories.offer(name="Amina Begum"), clock)
    team_request = intake.submit_request(uow, factories.team_request(**request), clock)
    match = decisions.make_match(uow, team_request.id, volunteer.id, "focus_group", coordinator, config, clock)
    introductions.send_introductions(uow, mailer, letters, match.id, clock, config, LEASE)
    return uow, clock, mailer, letters, match


def to(mailer: FakeMailer, address_part: str) -> list[Any]:
    return [e for e in mailer.sent if address_part in e.to]


def test_a_team_whose_name_ends_in_team_is_not_called_the_team_team(tmp_path: Any) -> None:
    _, _, mailer, _, _ = introduced(tmp_path, team_name="Ward 5 team")
    (letter,) = to(mailer, "example.org")  # the volunteer's introduction
    for words in (letter.subject, letter.text, letter.html):
        assert "team team" not in words.replace("\n", " ").replace("</strong> team", " team")
        assert "Ward 5 team" in words
    assert letter.subject == "Your introduction to the Ward 5 team"


def test_a_team_named_without_team_still_reads_as_a_team(tmp_path: Any) -> None:
    _, _, mailer, _, _ = introduced(tmp_path, team_name="Pharmacy")
    (letter,) = to(mailer, "example.org")
    assert letter.subject == "Your introduction to the Pharmacy team"
    assert "The\nPharmacy team would like you" in letter.text or "The Pharmacy team would like you" in letter.text


def test_the_check_in_date_follows_the_schedule_after_the_introductory_chat(tmp_path: Any) -> None:
    config = MatchingConfig(follow_up_weeks=(3, 8))
    uow, _, mailer, _, match = introduced(tmp_path, config)
    first = min(uow.follow_ups.where(match_id=match.id), key=lambda f: f.sequence)
    check_in = first.due_at.astimezone(LONDON).strftime("%A %-d %B")
    for letter in mailer.sent:
        text = " ".join(letter.text.split())
        # The first chat is 3 weeks after the introductory chat, not 3 weeks from now.
        assert f"{check_in}, 3 weeks after the introductory chat" in text, text
        assert "after 3 weeks" not in text


def test_no_check_in_promised_when_the_programme_has_no_follow_ups(tmp_path: Any) -> None:
    _, _, mailer, _, _ = introduced(tmp_path, MatchingConfig(follow_up_weeks=()))
    assert all("check in" not in e.text for e in mailer.sent)


@pytest.mark.parametrize(
    ("hours_before", "word"),
    [(5, "today"), (30, "tomorrow"), (50, "on ")],
)
def test_a_reminder_names_the_day_of_the_chat_as_seen_when_it_is_sent(
    tmp_path: Any, hours_before: int, word: str
) -> None:
    uow, clock, mailer, letters, match = introduced(tmp_path)
    first: FollowUp = min(uow.follow_ups.where(match_id=match.id), key=lambda f: f.sequence)
    first.due_at = first.due_at.astimezone(LONDON).replace(hour=16, minute=0)
    clock.current = first.due_at - timedelta(hours=hours_before)
    first.status = "invited"
    follow_ups.send_follow_up(uow, mailer, letters, first.id, "reminder", clock, LEASE)
    reminders = [e for e in mailer.sent if e.subject.startswith("Reminder")]
    assert len(reminders) == 2
    for letter in reminders:
        if word == "on ":
            day = first.due_at.astimezone(LONDON).strftime("%A %-d %B")
            assert f"on {day}" in letter.subject
            assert "today" not in letter.subject and "tomorrow" not in letter.subject
        else:
            assert f"chat {word}" in letter.subject
            assert f"{word} at 16:00" in " ".join(letter.text.split())


# --- Calendar invitations ---------------------------------------------------------------------


def run_owed(uow: FakeUnitOfWork, mailer: FakeMailer, letters: TemplateLetters, clock: FakeClock) -> int:
    """What the relay and a worker do with each owed email: send it once, mark the event published."""
    sent = 0
    for event in uow.events.where(kind=deliveries.OWED, published_at=None, order_by="id"):
        sent += outgoing.send_owed(uow, mailer, letters, event.data["key"], clock, MatchingConfig(), LEASE)
        event.published_at = clock.now()
    return sent


def calendar_of(letter: Any) -> Any:
    (attachment,) = [a for a in letter.attachments if a.filename == "invite.ics"]
    return Calendar.from_ical(attachment.data)


def test_the_invitation_is_on_london_time_stamped_now_and_at_the_teams_venue(tmp_path: Any) -> None:
    _, clock, mailer, _, match = introduced(tmp_path, venue="Room 2, Mile End Hospital")
    for letter in mailer.sent:
        cal = calendar_of(letter)
        (zone,) = cal.walk("VTIMEZONE")
        assert str(zone["TZID"]) == "Europe/London"
        (event,) = cal.walk("VEVENT")
        assert event["DTSTART"].params["TZID"] == "Europe/London"
        assert event.decoded("DTSTART").strftime("%H:%M") == "14:00"  # the team's Tuesday meeting, London time
        assert event.decoded("DTSTART") == match.intro_at
        assert event.decoded("DTSTAMP") == clock.now()  # when it was written, not when the chat is
        assert str(event["LOCATION"]) == "Room 2, Mile End Hospital"
        assert "Room 2, Mile End Hospital" in letter.text


def test_a_video_chat_takes_the_request_link_and_the_coordinators_place_wins(tmp_path: Any) -> None:
    uow, clock, mailer, letters, match = introduced(
        tmp_path, modes=["video"], video_link="https://meet.example/ward5", venue="Ward 5 office"
    )
    assert {str(calendar_of(e).walk("VEVENT")[0]["LOCATION"]) for e in mailer.sent} == {"https://meet.example/ward5"}
    coordinator = uow.coordinators.where()[0]
    meetings.set_meeting(
        uow, match.id, coordinator, {"video_link": "https://meet.example/other"}, clock, MatchingConfig()
    )
    mailer.sent.clear()
    assert run_owed(uow, mailer, letters, clock) == 2
    assert {str(calendar_of(e).walk("VEVENT")[0]["LOCATION"]) for e in mailer.sent} == {"https://meet.example/other"}


def test_a_new_time_after_the_introduction_updates_both_calendars_once(tmp_path: Any) -> None:
    uow, clock, mailer, letters, match = introduced(tmp_path)
    coordinator = uow.coordinators.where()[0]
    (uid,) = {str(calendar_of(e).walk("VEVENT")[0]["UID"]) for e in mailer.sent}
    later = match.intro_at + timedelta(days=2, hours=1)
    first_follow_up = min(uow.follow_ups.where(match_id=match.id), key=lambda f: f.sequence)
    clock.advance(hours=1)
    meetings.set_meeting(uow, match.id, coordinator, {"intro_at": later}, clock, MatchingConfig())
    mailer.sent.clear()
    assert run_owed(uow, mailer, letters, clock) == 2
    assert run_owed(uow, mailer, letters, clock) == 0  # the relay publishing twice sends nothing more
    # And a worker taking the same key again sends nothing either.
    outgoing_keys = [k for k in uow.deliveries.claims if k.startswith("invitation:")]
    assert all(outgoing.send_owed(uow, mailer, letters, k, clock, MatchingConfig(), LEASE) == 0 for k in outgoing_keys)
    assert len(mailer.sent) == 2 and {e.subject.split(":")[0] for e in mailer.sent} == {"Changed"}
    for letter in mailer.sent:
        cal = calendar_of(letter)
        event = cal.walk("VEVENT")[0]
        assert str(cal["METHOD"]) == "REQUEST"
        assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
        assert event.decoded("DTSTART") == later
        assert event.decoded("DTSTAMP") == clock.now()
    # The follow-ups count from the chat as it now is.
    assert first_follow_up.due_at == later + timedelta(weeks=2)
    # A second change is its own email, with its own sequence.
    meetings.set_meeting(uow, match.id, coordinator, {"venue": "Room 9"}, clock, MatchingConfig())
    assert run_owed(uow, mailer, letters, clock) == 2
    sequences = [int(calendar_of(e).walk("VEVENT")[0]["SEQUENCE"]) for e in mailer.sent]
    assert sequences == [1, 1, 2, 2] and len({e.message_id for e in mailer.sent}) == 4


def test_a_past_time_is_refused_naming_the_field(tmp_path: Any) -> None:
    uow, clock, _, _, match = introduced(tmp_path)
    with pytest.raises(Invalid) as refused:
        meetings.set_meeting(
            uow, match.id, uow.coordinators.where()[0], {"intro_at": clock.now()}, clock, MatchingConfig()
        )
    assert list(refused.value.errors) == ["intro_at"]


@pytest.mark.parametrize("ending", ["close", "withdraw"])
def test_an_ended_involvement_cancels_the_chat_in_both_calendars(tmp_path: Any, ending: str) -> None:
    uow, clock, mailer, letters, match = introduced(tmp_path)
    (uid,) = {str(calendar_of(e).walk("VEVENT")[0]["UID"]) for e in mailer.sent}
    if ending == "close":
        endings.close_match(uow, match.id, uow.coordinators.where()[0], "it did not work out", clock)
    else:
        intake.update_volunteer(uow, match.volunteer_id, {"status": "withdrawn"}, clock)
    mailer.sent.clear()
    assert run_owed(uow, mailer, letters, clock) == 2
    for letter in mailer.sent:
        cal = calendar_of(letter)
        event = cal.walk("VEVENT")[0]
        assert str(cal["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
        assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
        assert letter.subject.startswith("Cancelled")


def test_no_cancellation_for_a_chat_nobody_was_told_about(tmp_path: Any) -> None:
    uow, clock, mailer = FakeUnitOfWork(), FakeClock(), FakeMailer()
    coordinator = Coordinator(email="lead@nhs.example", password_hash="x", areas=["tower_hamlets"])
    uow.coordinators.add(coordinator)
    volunteer = intake.register_volunteer(uow, factories.offer(), clock)
    team_request = intake.submit_request(uow, factories.team_request(), clock)
    match = decisions.make_match(
        uow, team_request.id, volunteer.id, "focus_group", coordinator, MatchingConfig(), clock
    )
    endings.close_match(uow, match.id, coordinator, "changed our minds", clock)
    assert run_owed(uow, mailer, letters_for(tmp_path, clock), clock) == 0 and mailer.sent == []


def test_an_ended_involvement_also_cancels_the_follow_up_chat_already_in_calendars(tmp_path: Any) -> None:
    uow, clock, mailer, letters, match = introduced(tmp_path)
    first, second = sorted(uow.follow_ups.where(match_id=match.id), key=lambda f: f.sequence)
    clock.current = first.due_at - timedelta(days=MatchingConfig().invite_lead_days)
    follow_ups.dispatch_due(uow, clock, MatchingConfig())
    run_owed(uow, mailer, letters, clock)
    (uid,) = {str(calendar_of(e).walk("VEVENT")[0]["UID"]) for e in mailer.sent if e.subject.startswith("Follow-up")}
    endings.close_match(uow, match.id, uow.coordinators.where()[0], "it did not work out", clock)
    mailer.sent.clear()
    assert run_owed(uow, mailer, letters, clock) == 4  # the introductory chat and the invited follow-up
    cancelled = [e for e in mailer.sent if str(calendar_of(e).walk("VEVENT")[0]["UID"]) == uid]
    assert len(cancelled) == 2 and all(e.subject.startswith("Cancelled: follow-up chat 1") for e in cancelled)
    for letter in cancelled:
        cal = calendar_of(letter)
        assert str(cal["METHOD"]) == "CANCEL" and str(cal.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
        assert int(cal.walk("VEVENT")[0]["SEQUENCE"]) == 1
    # The second chat was never in a calendar: cancelled quietly.
    assert second.status == first.status == "cancelled"


def test_a_chat_with_only_a_venue_is_held_in_person_there(tmp_path: Any) -> None:
    _, _, mailer, _, _ = introduced(tmp_path, venue="Room 2", modes=["in_person", "video"])
    for letter in mailer.sent:
        text = " ".join(letter.text.split())
        assert "(in person)" in text and "Where: Room 2" in text and "video call" not in text
