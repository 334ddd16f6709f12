"""The call list, on fakes: a call owed by what owes it (once), listed by the area rule,
recorded once with a required note that shows on the timelines, in the digest, in the
export, and gone with an erasure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from matcher.calls import NOTE_MAX, CallReason, CallStatus, CallSubject
from matcher.domain import Coordinator, IllegalMove
from matcher.errors import Invalid, NotFound
from matcher.services import calls, decisions, digest, feedback, intake, queries, volunteer_self
from tests import factories
from tests.fakes import FakeClock, FakeUnitOfWork
from tests.unit.test_feedback import CONFIG, chat_held, lead, send_all_owed

PHONE = {"phone": "020 7946 0000", "preferred_contact": "phone"}


def approved_for_phone(uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator, **offer: Any) -> Any:
    volunteer = intake.register_volunteer(uow, factories.offer(name="Amina Begum", **{**PHONE, **offer}), clock)
    request = intake.submit_request(uow, factories.team_request(project_title="Fewer restraints"), clock)
    return decisions.make_match(uow, request.id, volunteer.id, "focus_group", coordinator, CONFIG, clock)


def owed(uow: FakeUnitOfWork, coordinator: Coordinator) -> list[tuple[str, str]]:
    lines = queries.list_calls(uow, coordinator).items
    return [(line.volunteer.name, line.call.reason) for line in lines]


def test_an_approval_owes_one_introduction_call_to_a_volunteer_who_prefers_the_phone(uow, clock, coordinator) -> None:
    match = approved_for_phone(uow, clock, coordinator)
    emailed = intake.register_volunteer(uow, factories.offer(), clock)
    other = intake.submit_request(uow, factories.team_request(), clock)
    decisions.make_match(uow, other.id, emailed.id, "focus_group", coordinator, CONFIG, clock)
    (call,) = uow.calls.rows.values()  # the one who prefers email is owed nothing
    assert (call.reason, call.subject_kind, call.subject_id, call.match_id) == (
        CallReason.INTRODUCTION,
        CallSubject.MATCH,
        match.id,
        match.id,
    )
    assert "call.owed" in uow.kinds(match_id=match.id)
    # The same cause again owes nothing more: one per volunteer, reason and subject.
    with uow:
        volunteer = uow.volunteers.get(match.volunteer_id)
        assert calls.owe(uow, volunteer, CallReason.INTRODUCTION, CallSubject.MATCH, match.id, clock.now()) is None
    assert len(uow.calls.rows) == 1


def test_the_list_follows_the_area_rule_most_overdue_first(uow, clock, coordinator) -> None:
    approved_for_phone(uow, clock, coordinator)
    clock.advance(hours=3)
    later = intake.register_volunteer(uow, factories.offer(name="Bola Ade", **PHONE), clock)
    request = intake.submit_request(uow, factories.team_request(), clock)
    decisions.make_match(uow, request.id, later.id, "focus_group", coordinator, CONFIG, clock)
    assert owed(uow, coordinator) == [("Amina Begum", "introduction"), ("Bola Ade", "introduction")]
    elsewhere = Coordinator(email="luton@nhs.example", password_hash="x", areas=["luton"])
    uow.coordinators.add(elsewhere)
    assert owed(uow, elsewhere) == []
    call_id = next(iter(uow.calls.rows))
    with pytest.raises(NotFound):
        calls.record(uow, call_id, elsewhere, "Rang her", clock)
    with pytest.raises(NotFound):
        queries.call_line(uow, call_id, elsewhere)


def test_a_call_is_recorded_once_with_a_note_that_shows_on_both_timelines(uow, clock, coordinator) -> None:
    match = approved_for_phone(uow, clock, coordinator)
    (call,) = uow.calls.rows.values()
    for bad in (None, "", "   ", "x" * (NOTE_MAX + 1)):
        with pytest.raises(Invalid) as refused:
            calls.record(uow, call.id, coordinator, bad, clock)
        assert list(refused.value.errors) == ["note"]
    assert not call.done and not uow.audit.where(action="call.record")  # nothing half-stored
    clock.advance(hours=26)
    calls.record(uow, call.id, coordinator, "  Spoke to Amina: she will go to the chat on Tuesday.  ", clock)
    assert call.status == CallStatus.DONE and call.note == "Spoke to Amina: she will go to the chat on Tuesday."
    assert call.called_by == coordinator.id
    with pytest.raises(IllegalMove):  # a 409: the first note stands
        calls.record(uow, call.id, coordinator, "Another note", clock)
    assert call.note.startswith("Spoke to Amina")
    assert owed(uow, coordinator) == []
    assert [line.call.id for line in queries.list_calls(uow, coordinator, status=CallStatus.DONE).items] == [call.id]
    (entry,) = uow.audit.where(action="call.record")
    assert (entry.subject_kind, entry.subject_id, entry.details["call"]) == ("volunteer", match.volunteer_id, call.id)
    for view in (
        queries.match_view(uow, match.id, coordinator),
        queries.volunteer_view(uow, match.volunteer_id, coordinator),
    ):
        made = [e for e in view.timeline if e.kind == "call.made"]
        assert len(made) == 1 and view.call_notes[made[0].data["call"]].startswith("Spoke to Amina")
        assert "Spoke" not in str(made[0].data)  # codes only in the event


def test_feedback_by_phone_is_owed_and_leaves_the_list_when_they_answer_the_form(tmp_path: Any) -> None:
    uow, clock, mailer, letters, match, _ = chat_held(tmp_path)
    coordinator = lead(uow)
    uow.volunteers.get(match.volunteer_id).preferred_contact = "phone"  # type: ignore[union-attr]
    feedback.dispatch_due(uow, clock, CONFIG)
    form = next(f for f in uow.feedback_forms.rows.values() if f.party == "volunteer")
    assert [(c.reason, c.subject_id) for c in uow.calls.rows.values()] == [(CallReason.FEEDBACK, form.id)]
    assert send_all_owed(uow, mailer, letters, clock) == 2  # the forms still go by email
    feedback.answer(uow, form.id, {"rating": 2, "wants_stop": True}, clock)
    # Answered themselves: no feedback call now; they want to stop and prefer the phone: a call for that.
    assert [(c.reason, c.subject_kind) for c in uow.calls.rows.values()] == [
        (CallReason.STOPPING, CallSubject.FEEDBACK_ANSWER)
    ]
    assert owed(uow, coordinator) == [("Amina Begum", "stopping")]


def test_a_call_asked_for_on_the_form_is_owed_whatever_their_preferred_contact(tmp_path: Any) -> None:
    uow, clock, mailer, letters, match, _ = chat_held(tmp_path)
    feedback.dispatch_due(uow, clock, CONFIG)
    assert not uow.calls.rows  # prefers email: the form is enough
    form = next(f for f in uow.feedback_forms.rows.values() if f.party == "volunteer")
    feedback.answer(uow, form.id, {"rating": 4, "wants_call": True}, clock)
    (call,) = uow.calls.rows.values()
    assert (call.reason, call.match_id) == (CallReason.ASKED_FOR_CALL, match.id)
    team = next(f for f in uow.feedback_forms.rows.values() if f.party == "team")
    feedback.answer(uow, team.id, {"rating": 4, "wants_call": True}, clock)
    assert len(uow.calls.rows) == 1  # a team's contact is not on the volunteers' call list


def test_a_volunteer_who_stops_by_themselves_is_owed_a_call_once_but_not_one_who_is_erased(uow, clock) -> None:
    paused = intake.register_volunteer(uow, factories.offer(**PHONE), clock)
    for _ in range(2):
        volunteer_self.pause_until(uow, paused.id, clock.now().date() + timedelta(days=30), clock)
    withdrew = intake.register_volunteer(uow, factories.offer(**PHONE), clock)
    volunteer_self.withdraw(uow, withdrew.id, clock)
    by_email = intake.register_volunteer(uow, factories.offer(), clock)
    volunteer_self.withdraw(uow, by_email.id, clock)
    erased = intake.register_volunteer(uow, factories.offer(**PHONE), clock)
    volunteer_self.erase(uow, erased.id, clock)
    found = sorted((c.volunteer_id, c.reason, c.subject_kind) for c in uow.calls.rows.values())
    assert found == sorted(
        [(paused.id, "stopping", CallSubject.PAUSE), (withdrew.id, "stopping", CallSubject.WITHDRAWAL)]
    )


def test_a_coordinators_change_owes_no_call(uow, clock, coordinator) -> None:
    volunteer = intake.register_volunteer(uow, factories.offer(**PHONE), clock)
    intake.update_volunteer(uow, volunteer.id, {"status": "withdrawn"}, clock, coordinator)
    assert not uow.calls.rows  # they spoke already: the coordinator made the change


def test_the_export_holds_the_calls_with_notes_and_erasure_clears_them(uow, clock, coordinator) -> None:
    match = approved_for_phone(uow, clock, coordinator)
    (made,) = uow.calls.rows.values()
    calls.record(uow, made.id, coordinator, "Amina Begum is happy to go", clock)
    clock.advance(hours=1)  # she pauses later on: the export lists the calls in the order they were owed
    volunteer_self.pause_until(uow, match.volunteer_id, clock.now().date() + timedelta(days=10), clock)
    exported = volunteer_self.export(uow, match.volunteer_id, clock)["calls"]
    assert [(c["reason"], c["note"]) for c in exported] == [
        ("introduction", "Amina Begum is happy to go"),
        ("stopping", None),
    ]
    volunteer_self.erase(uow, match.volunteer_id, clock)
    (kept,) = uow.calls.rows.values()  # the owed call went; the call made stays as a count
    assert kept.id == made.id and kept.note is None and kept.called_at is not None


def test_the_digest_lists_the_calls_still_owed_oldest_first(uow, clock, coordinator) -> None:
    approved_for_phone(uow, clock, coordinator)
    clock.advance(days=2)
    later = intake.register_volunteer(uow, factories.offer(name="Bola Ade", **PHONE), clock)
    volunteer_self.withdraw(uow, later.id, clock)
    now = clock.now()
    # Owed before the digest's window too: a call stays in each digest until someone rings.
    found = digest.contents(uow, coordinator, now - timedelta(hours=1), now, CONFIG).of("owed_call")
    assert [i.title for i in found] == ["Amina: Fewer restraints", "Bola: their offer"]
    assert all(i.path == "/coordinator/calls" for i in found)
    assert "introduction" in found[0].detail and "asked to stop" in found[1].detail


def test_feedback_taken_by_phone_is_kept_as_their_forms_answer_with_the_call(tmp_path: Any) -> None:
    uow, clock, mailer, letters, match, _ = chat_held(tmp_path)
    coordinator = lead(uow)
    uow.volunteers.get(match.volunteer_id).preferred_contact = "phone"  # type: ignore[union-attr]
    feedback.dispatch_due(uow, clock, CONFIG)
    (call,) = uow.calls.rows.values()
    with pytest.raises(Invalid) as refused:
        calls.record(uow, call.id, coordinator, "Rang", clock, rating=9)
    assert list(refused.value.errors) == ["rating"] and not uow.feedback_answers.rows and not call.done
    calls.record(uow, call.id, coordinator, "Meetings keep moving; she may stop", clock, rating=2, wants_stop=True)
    (kept,) = uow.feedback_answers.rows.values()
    assert (kept.party, kept.rating, kept.wants_stop, kept.wants_call, kept.note) == ("volunteer", 2, True, False, None)
    assert call.done and call.note == "Meetings keep moving; she may stop"
    assert [k for k in uow.deliveries.claims if k.startswith("feedback_alert:")]  # a poor answer alerts at once
    (answered_event,) = [e for e in uow.events.rows.values() if e.kind == "feedback.answered"]
    assert answered_event.data["by"] == coordinator.id
    assert len(uow.calls.rows) == 1  # on the phone already: no further call owed for the wish to stop
    # Their own form, opened later, is answered already: nothing more is kept.
    form = next(f for f in uow.feedback_forms.rows.values() if f.party == "volunteer")
    assert not feedback.answer(uow, form.id, {"rating": 5}, clock).recorded


def test_only_a_feedback_call_takes_their_answers(uow, clock, coordinator) -> None:
    approved_for_phone(uow, clock, coordinator)
    (call,) = uow.calls.rows.values()
    with pytest.raises(Invalid) as refused:
        calls.record(uow, call.id, coordinator, "Rang", clock, rating=4)
    assert list(refused.value.errors) == ["rating"] and not call.done
