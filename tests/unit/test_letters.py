"""What people read in the emails: the words and the calendar invitations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from matcher.adapters.letters import TemplateLetters
from matcher.config import MatchingConfig, Settings
from matcher.domain import Coordinator, FollowUp
from matcher.scheduling import LONDON
from matcher.services import decisions, follow_ups, intake, introductions
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
