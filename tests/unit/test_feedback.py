"""Feedback after follow-up chats, on fakes: asked once the chat's time has passed, answered
once, reminded once, and a poor answer alerts each of the area's coordinators exactly once."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from matcher.config import MatchingConfig
from matcher.domain import (
    Coordinator,
    EventKind,
    FeedbackStatus,
    FollowUp,
    FollowUpStatus,
    MatchStatus,
    TokenPurpose,
)
from matcher.errors import Invalid
from matcher.services import endings, feedback, follow_ups, links, outgoing, volunteer_self
from tests.fakes import FakeClock, FakeMailer, FakeUnitOfWork
from tests.unit.test_letters import LEASE, introduced, to

CONFIG = MatchingConfig()


def chat_held(tmp_path: Any) -> tuple[FakeUnitOfWork, FakeClock, FakeMailer, Any, Any, FollowUp]:
    """An introduced match whose first follow-up chat was invited to, and is now over by an hour."""
    uow, clock, mailer, letters, match = introduced(tmp_path)
    first = uow.follow_ups.where(match_id=match.id, order_by="sequence")[0]
    clock.current = first.due_at - timedelta(days=CONFIG.invite_lead_days) + timedelta(minutes=1)
    follow_ups.dispatch_due(uow, clock, CONFIG)
    assert first.status == FollowUpStatus.INVITED
    send_all_owed(uow, mailer, letters, clock)  # the chat's invitations
    clock.current = first.due_at + timedelta(minutes=CONFIG.feedback_after_minutes)
    mailer.sent.clear()
    return uow, clock, mailer, letters, match, first


def lead(uow: FakeUnitOfWork) -> Coordinator:
    return uow.coordinators.where(email="lead@nhs.example")[0]


def send_all_owed(uow: FakeUnitOfWork, mailer: FakeMailer, letters: Any, clock: FakeClock) -> int:
    owed = [k for k, (status, _) in uow.deliveries.claims.items() if status == "owed"]
    return sum(outgoing.send_owed(uow, mailer, letters, k, clock, CONFIG, LEASE) for k in owed)


def secret_in(email: Any) -> str:
    found = re.search(r"/feedback/([A-Za-z0-9_\-]+)", email.text)
    assert found, email.text
    return found.group(1)


def test_no_form_before_the_chat_has_had_its_time(tmp_path: Any) -> None:
    uow, clock, _, _, _, first = chat_held(tmp_path)
    clock.advance(minutes=-1)
    assert feedback.dispatch_due(uow, clock, CONFIG) == {"asked": 0, "reminded": 0}
    assert not uow.feedback_forms.rows and first.feedback_at is None


def test_once_the_chat_has_passed_both_sides_are_emailed_a_form_once(tmp_path: Any) -> None:
    uow, clock, mailer, letters, match, first = chat_held(tmp_path)
    assert feedback.dispatch_due(uow, clock, CONFIG)["asked"] == 2
    assert feedback.dispatch_due(uow, clock, CONFIG)["asked"] == 0  # a second beat finds nothing more
    assert sorted(f.party for f in uow.feedback_forms.rows.values()) == ["team", "volunteer"]
    assert EventKind.FEEDBACK_ASKED in uow.kinds(match_id=match.id)

    assert send_all_owed(uow, mailer, letters, clock) == 2
    assert send_all_owed(uow, mailer, letters, clock) == 0
    (team,) = to(mailer, "nhs.example")
    (volunteer,) = to(mailer, "example.org")
    for letter in (team, volunteer):
        assert letter.subject.startswith("How is it going?")
        assert "would like a call" in letter.text and "want to stop" in letter.text
    # Each link opens that side's own form, addressed to them.
    opened = feedback.open_form(uow, secret_in(volunteer), clock)
    assert opened is not None and opened.form.party == "volunteer" and opened.greeting_name == "Amina"
    assert feedback.open_form(uow, secret_in(team), clock).form.party == "team"  # type: ignore[union-attr]
    assert feedback.open_form(uow, "not-a-secret", clock) is None


def test_a_volunteer_who_withdrew_is_asked_nothing_but_the_team_is(tmp_path: Any) -> None:
    uow, clock, _, _, match, _ = chat_held(tmp_path)
    uow.volunteers.get(match.volunteer_id).status = "withdrawn"  # type: ignore[union-attr]
    # A withdrawal ends the involvement too: then nobody is asked about it.
    assert feedback.dispatch_due(uow, clock, CONFIG)["asked"] == 0


def test_an_involvement_closed_before_the_chat_passed_gets_no_forms(tmp_path: Any) -> None:
    uow, clock, _, _, match, first = chat_held(tmp_path)
    coordinator = lead(uow)
    clock.advance(minutes=-30)  # closed during the chat: the chat itself is not cancelled after the fact
    endings.close_match(uow, match.id, coordinator, "it did not work out", clock)
    clock.advance(minutes=30)
    assert feedback.dispatch_due(uow, clock, CONFIG)["asked"] == 0
    assert first.feedback_at is not None  # looked at once, not again every minute


def answered(tmp_path: Any, **answers: Any) -> tuple[FakeUnitOfWork, FakeClock, FakeMailer, Any, Any, Any]:
    uow, clock, mailer, letters, match, _ = chat_held(tmp_path)
    feedback.dispatch_due(uow, clock, CONFIG)
    send_all_owed(uow, mailer, letters, clock)
    form = next(f for f in uow.feedback_forms.rows.values() if f.party == "volunteer")
    result = feedback.answer(uow, form.id, {"rating": 4, **answers}, clock)
    return uow, clock, mailer, letters, form, result


def test_a_form_is_answered_once_and_the_second_answer_is_kept_nowhere(tmp_path: Any) -> None:
    uow, clock, _, _, form, first = answered(tmp_path, rating=4, note="Going well, thank you")
    assert first.recorded and not first.poor
    second = feedback.answer(uow, form.id, {"rating": 1, "wants_stop": True}, clock)
    assert not second.recorded
    (kept,) = uow.feedback_answers.rows.values()
    assert (kept.rating, kept.wants_stop, kept.note) == (4, False, "Going well, thank you")
    assert form.status == FeedbackStatus.ANSWERED
    events = [e for e in uow.events.rows.values() if e.kind == EventKind.FEEDBACK_ANSWERED]
    assert len(events) == 1
    # The timeline holds codes only: their words stay in the answer, which erasure clears.
    assert "Going well" not in repr(events[0].data)
    assert events[0].data["rating"] == 4 and events[0].data["poor"] is False
    assert not [k for k in uow.deliveries.claims if k.startswith("feedback_alert:")]


@pytest.mark.parametrize(
    "answers",
    [{"rating": 2}, {"rating": 5, "wants_call": True}, {"rating": 4, "wants_stop": True}],
    ids=["rating-2", "call", "stop"],
)
def test_a_poor_answer_alerts_each_area_coordinator_exactly_once(tmp_path: Any, answers: dict[str, Any]) -> None:
    uow, clock, mailer, letters, form, result = answered(tmp_path, note="The meetings keep moving", **answers)
    assert result.poor
    other = Coordinator(email="second@nhs.example", password_hash="x", areas=["tower_hamlets", "newham"])
    elsewhere = Coordinator(email="luton@nhs.example", password_hash="x", areas=["luton"])
    uow.coordinators.add(other)
    uow.coordinators.add(elsewhere)
    # The coordinators are read as the answer comes in: answer again on the team's form.
    team_form = next(f for f in uow.feedback_forms.rows.values() if f.party == "team")
    assert feedback.answer(uow, team_form.id, answers, clock).poor
    alerts = sorted(k for k in uow.deliveries.claims if k.startswith("feedback_alert:"))
    team_answer = next(a for a in uow.feedback_answers.rows.values() if a.form_id == team_form.id)
    assert [k for k in alerts if team_answer.id in k] == sorted(
        feedback.alert_key(team_answer.id, c.id) for c in (lead(uow), other)
    )
    mailer.sent.clear()
    assert send_all_owed(uow, mailer, letters, clock) == len(alerts)
    assert send_all_owed(uow, mailer, letters, clock) == 0  # exactly once, however often it is tried
    assert not to(mailer, "luton@")
    assert len(to(mailer, "second@")) == 1
    letter = to(mailer, "second@")[0]
    assert letter.subject.startswith("Feedback needs you")
    assert "/coordinator/matches/" in letter.text
    assert "The meetings keep moving" not in letter.text + letter.html  # their words stay on the page


def test_answers_are_checked_and_nothing_is_kept_when_they_are_wrong(tmp_path: Any) -> None:
    uow, clock, _, _, _, _ = chat_held(tmp_path)
    feedback.dispatch_due(uow, clock, CONFIG)
    form = next(iter(uow.feedback_forms.rows.values()))
    for bad in ({}, {"rating": 0}, {"rating": 6}, {"rating": "3"}, {"rating": 3, "note": "x" * 4001}):
        with pytest.raises(Invalid) as refused:
            feedback.answer(uow, form.id, bad, clock)
        assert set(refused.value.errors) <= {"rating", "note"}
    assert not uow.feedback_answers.rows and form.status == FeedbackStatus.ASKED


def test_an_unanswered_form_gets_exactly_one_reminder(tmp_path: Any) -> None:
    uow, clock, mailer, letters, form, _ = answered(tmp_path)  # the volunteer answered; the team did not
    team_form = next(f for f in uow.feedback_forms.rows.values() if f.party == "team")
    clock.advance(days=CONFIG.feedback_reminder_days, seconds=-1)
    assert feedback.dispatch_due(uow, clock, CONFIG)["reminded"] == 0
    clock.advance(seconds=1)
    assert feedback.dispatch_due(uow, clock, CONFIG)["reminded"] == 1
    clock.advance(days=10)
    assert feedback.dispatch_due(uow, clock, CONFIG)["reminded"] == 0
    assert team_form.status == FeedbackStatus.REMINDED
    mailer.sent.clear()
    assert send_all_owed(uow, mailer, letters, clock) == 1
    (reminder,) = mailer.sent
    assert reminder.subject.startswith("Reminder: how is it going?")
    assert "only reminder" in reminder.text
    # The reminder's fresh link opens the same form.
    assert feedback.open_form(uow, secret_in(reminder), clock).form.id == team_form.id  # type: ignore[union-attr]


def test_a_reminder_owed_and_then_answered_is_not_sent(tmp_path: Any) -> None:
    uow, clock, mailer, letters, _, _ = chat_held(tmp_path)
    feedback.dispatch_due(uow, clock, CONFIG)
    send_all_owed(uow, mailer, letters, clock)
    clock.advance(days=CONFIG.feedback_reminder_days)
    feedback.dispatch_due(uow, clock, CONFIG)
    for form in list(uow.feedback_forms.rows.values()):
        feedback.answer(uow, form.id, {"rating": 5}, clock)
    mailer.sent.clear()
    assert send_all_owed(uow, mailer, letters, clock) == 0
    assert not mailer.sent


def test_feedback_links_are_their_own_kind_and_last_weeks(tmp_path: Any) -> None:
    uow, clock, mailer, letters, _, _ = chat_held(tmp_path)
    feedback.dispatch_due(uow, clock, CONFIG)
    send_all_owed(uow, mailer, letters, clock)
    secret = secret_in(mailer.sent[0])
    assert links.peek(uow, secret, TokenPurpose.VOLUNTEER_LINK, clock) is None  # not a sign-in link
    clock.advance(days=CONFIG.feedback_link_days - 1)
    assert feedback.open_form(uow, secret, clock) is not None
    clock.advance(days=1)
    assert feedback.open_form(uow, secret, clock) is None


def test_the_export_holds_their_answers_and_erasure_clears_the_words(tmp_path: Any) -> None:
    uow, clock, _, _, form, _ = answered(tmp_path, rating=3, note="Travel is hard for me")
    team_form = next(f for f in uow.feedback_forms.rows.values() if f.party == "team")
    feedback.answer(uow, team_form.id, {"rating": 4, "note": "Amina brings a lot"}, clock)
    match = uow.matches.get(form.match_id)
    assert match is not None
    exported = volunteer_self.export(uow, match.volunteer_id, clock)
    (mine,) = exported["feedback"]
    assert (mine["rating"], mine["note"], mine["follow_up_chat"]) == (3, "Travel is hard for me", 1)
    assert "Amina brings a lot" not in repr(exported)  # the team's answer is the team's

    volunteer_self.erase(uow, match.volunteer_id, clock)
    kept = sorted(uow.feedback_answers.rows.values(), key=lambda a: a.party)
    assert [(a.party, a.rating, a.note) for a in kept] == [("team", 4, None), ("volunteer", 3, None)]
    assert match.status == MatchStatus.CLOSED


def test_a_coordinator_marks_a_poor_answer_dealt_with_once(tmp_path: Any) -> None:
    uow, clock, _, _, form, _ = answered(tmp_path, rating=1)
    coordinator = lead(uow)
    (kept,) = uow.feedback_answers.rows.values()
    feedback.handle(uow, kept.id, coordinator, clock)
    feedback.handle(uow, kept.id, coordinator, clock)
    assert kept.handled_by == coordinator.id
    assert uow.kinds(match_id=form.match_id).count(EventKind.FEEDBACK_HANDLED) == 1
    # On the audit log too, once: who dealt with it, about which match.
    (entry,) = [e for e in uow.audit.rows.values() if e.action == "feedback.handle"]
    assert (entry.coordinator_id, entry.subject_kind, entry.subject_id) == (coordinator.id, "match", form.match_id)


def test_the_follow_up_emails_promise_only_what_happens(tmp_path: Any) -> None:
    """Finding: the follow-up invitation promised a feedback form that never came, and the
    reminder said to reply to an address nobody reads (the sender is qimatch's own)."""
    uow, clock, mailer, letters, match, first = chat_held(tmp_path)
    clock.current = first.due_at - timedelta(hours=12)
    follow_ups.dispatch_due(uow, clock, CONFIG)
    mailer.sent.clear()
    send_all_owed(uow, mailer, letters, clock)
    reminders = [e for e in mailer.sent if e.subject.startswith("Reminder")]
    assert len(reminders) == 2
    for letter in reminders:
        for words in (letter.text, letter.html):
            assert "reply to this email" not in words.lower()
            assert "feedback form" in words
    team_reminder = next(e for e in reminders if "nhs.example" in e.to)
    assert "let Amina know" in team_reminder.text
    # And the form the invitation promised does come, once the chat's time has passed.
    clock.current = first.due_at + timedelta(minutes=CONFIG.feedback_after_minutes)
    feedback.dispatch_due(uow, clock, CONFIG)
    mailer.sent.clear()
    send_all_owed(uow, mailer, letters, clock)
    assert sorted(e.subject.split("?")[0] for e in mailer.sent) == ["How is it going"] * 2


def test_a_feedback_email_given_up_lands_on_its_matchs_timeline(tmp_path: Any) -> None:
    uow, clock, mailer, letters, match, _ = chat_held(tmp_path)
    feedback.dispatch_due(uow, clock, CONFIG)
    form = next(f for f in uow.feedback_forms.rows.values() if f.party == "volunteer")
    about = outgoing.about(uow, feedback.delivery_key(form.id, feedback.FORM))
    assert about["match_id"] == match.id and about["data"] == {"letter": "feedback", "to": "volunteer"}
    assert outgoing.about(uow, "digest:someone:2026-03-03") == {"data": {"letter": "digest", "to": "coordinator"}}


def test_the_access_log_keeps_feedback_links_out() -> None:
    from web.access_log import redact

    line = redact('"GET /feedback/s3cr3t-Link_x HTTP/1.1" 200')
    assert "s3cr3t" not in line and "/feedback/[redacted]" in line
    referer = redact('"http://qimatch.test/feedback/s3cr3t-Link_x"')
    assert "s3cr3t" not in referer
    handled = redact('"POST /coordinator/feedback/0a1b/handled HTTP/1.1" 303')
    assert "/coordinator/feedback/0a1b/handled" in handled  # an answer's id is no secret


def test_deactivated_and_not_yet_arrived_coordinators_are_not_alerted(tmp_path: Any) -> None:
    uow, clock, mailer, letters, match, _ = chat_held(tmp_path)
    gone = Coordinator(email="gone@nhs.example", password_hash="x", areas=["tower_hamlets"], active=False)
    invited = Coordinator(email="invited@nhs.example", password_hash="", areas=["tower_hamlets"])
    uow.coordinators.add(gone)
    uow.coordinators.add(invited)
    feedback.dispatch_due(uow, clock, CONFIG)
    form = next(f for f in uow.feedback_forms.rows.values() if f.party == "team")
    feedback.answer(uow, form.id, {"rating": 1}, clock)
    alerts = [k for k in uow.deliveries.claims if k.startswith("feedback_alert:")]
    assert [k.rsplit(":", 1)[1] for k in alerts] == [lead(uow).id]
