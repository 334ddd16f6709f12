"""Sessions on fakes: capacity, the waiting list moving up, the once-only reminder,
attendance verifying a training, and the training gate's setting."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from matcher.config import MatchingConfig, matching_from_env
from matcher.domain import Coordinator, EventKind, Volunteer
from matcher.errors import Conflict, Invalid, NotFound
from matcher.programme_sessions import BookingStatus, Reminder
from matcher.rules import Standing, screen
from matcher.services import sessions, volunteer_self
from tests import factories
from tests.fakes import FakeClock, FakeUnitOfWork

CONFIG = MatchingConfig()


def session_fields(clock: FakeClock, **overrides: Any) -> dict[str, Any]:
    start = clock.now() + timedelta(days=3)
    fields = {
        "kind": "qi_introduction",
        "area": "tower_hamlets",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "venue": "Mile End Hospital, room 4",
        "capacity": 2,
        "training": "qi_introduction",
    }
    return {**fields, **overrides}


def people(uow: FakeUnitOfWork, n: int) -> list[Volunteer]:
    found = [factories.volunteer() for _ in range(n)]
    for v in found:
        uow.volunteers.add(v)
    return found


def owed(uow: FakeUnitOfWork, stage: str) -> list[str]:
    return [k for k in uow.deliveries.claims if k.startswith("session:") and f":{stage}:" in k]


def test_a_full_session_puts_people_on_the_waiting_list_in_order(uow, clock, coordinator):
    s = sessions.schedule(uow, session_fields(clock), coordinator, clock)
    a, b, c, d = people(uow, 4)
    for v in (a, b, c, d):
        sessions.book(uow, s.id, v.id, clock, CONFIG)
        clock.advance(seconds=1)
    statuses = {b_.volunteer_id: b_.status for b_ in uow.bookings.where(session_id=s.id)}
    assert [statuses[v.id] for v in (a, b, c, d)] == ["booked", "booked", "waiting", "waiting"]
    assert len(owed(uow, "invitation")) == 2 and len(owed(uow, "waiting")) == 2


def test_a_cancelled_place_moves_the_longest_waiting_up_by_itself(uow, clock, coordinator):
    s = sessions.schedule(uow, session_fields(clock), coordinator, clock)
    a, b, c, d = people(uow, 4)
    for v in (a, b, c, d):
        sessions.book(uow, s.id, v.id, clock, CONFIG)
        clock.advance(seconds=1)
    sessions.cancel_booking(uow, s.id, a.id, clock, CONFIG)
    mine = {x.volunteer_id: x for x in uow.bookings.where(session_id=s.id)}
    assert mine[a.id].status == "cancelled"
    assert mine[c.id].status == "booked" and mine[c.id].from_waiting_list
    assert mine[d.id].status == "waiting"
    # a's calendar entry is cancelled; c gets an invitation with the calendar entry.
    assert f"session:{mine[a.id].id}:cancellation:2" in uow.deliveries.claims
    assert f"session:{mine[c.id].id}:invitation:2" in uow.deliveries.claims
    assert EventKind.SESSION_MOVED_UP in uow.kinds(volunteer_id=c.id)


def test_more_places_move_the_waiting_list_up_and_fewer_than_booked_are_refused(uow, clock, coordinator):
    s = sessions.schedule(uow, session_fields(clock, capacity=1), coordinator, clock)
    a, b = people(uow, 2)
    sessions.book(uow, s.id, a.id, clock, CONFIG)
    sessions.book(uow, s.id, b.id, clock, CONFIG)
    sessions.update(uow, s.id, {"capacity": 2}, coordinator, clock, CONFIG)
    assert {x.status for x in uow.bookings.where(session_id=s.id)} == {"booked"}
    with pytest.raises(Invalid) as refused:
        sessions.update(uow, s.id, {"capacity": 1}, coordinator, clock, CONFIG)
    assert "capacity" in refused.value.errors


def test_booking_twice_is_a_conflict_and_rebooking_after_cancelling_works(uow, clock, coordinator):
    s = sessions.schedule(uow, session_fields(clock), coordinator, clock)
    (a,) = people(uow, 1)
    sessions.book(uow, s.id, a.id, clock, CONFIG)
    with pytest.raises(Conflict):
        sessions.book(uow, s.id, a.id, clock, CONFIG)
    sessions.cancel_booking(uow, s.id, a.id, clock, CONFIG)
    again = sessions.book(uow, s.id, a.id, clock, CONFIG)
    assert again.status == "booked" and again.sequence == 3  # one calendar entry, revised


def test_a_session_out_of_reach_is_not_offered_nor_bookable(uow, clock, coordinator):
    s = sessions.schedule(uow, session_fields(clock), coordinator, clock)
    (far,) = [factories.volunteer(home_area="luton", travel_areas=[])]
    uow.volunteers.add(far)
    assert volunteer_self.session_offers(uow, far.id, clock) == []
    with pytest.raises(NotFound):
        sessions.book(uow, s.id, far.id, clock, CONFIG)


def test_schedule_names_every_bad_field_and_stores_nothing(uow, clock, coordinator):
    bad = session_fields(clock, starts_at=clock.now() - timedelta(hours=1), capacity=0, venue=None, kind="x")
    bad["ends_at"] = bad["starts_at"] - timedelta(hours=1)
    with pytest.raises(Invalid) as refused:
        sessions.schedule(uow, bad, coordinator, clock)
    assert set(refused.value.errors) == {"kind", "starts_at", "ends_at", "capacity", "venue"}
    assert uow.programme_sessions.count() == 0


def test_the_reminder_is_owed_once_the_day_before(uow, clock, coordinator):
    s = sessions.schedule(uow, session_fields(clock), coordinator, clock)
    (a,) = people(uow, 1)
    booking = sessions.book(uow, s.id, a.id, clock, CONFIG)
    assert booking.reminder == Reminder.DUE
    assert sessions.dispatch_reminders(uow, clock) == 0  # three days ahead: not yet
    clock.current = s.starts_at - timedelta(hours=23)
    assert sessions.dispatch_reminders(uow, clock) == 1
    assert sessions.dispatch_reminders(uow, clock) == 0  # claimed once: never twice
    assert len(owed(uow, "reminder")) == 1


def test_no_reminder_for_a_place_booked_within_the_day(uow, clock, coordinator):
    soon = clock.now() + timedelta(hours=5)
    s = sessions.schedule(
        uow, session_fields(clock, starts_at=soon, ends_at=soon + timedelta(hours=1)), coordinator, clock
    )
    (a,) = people(uow, 1)
    assert sessions.book(uow, s.id, a.id, clock, CONFIG).reminder == Reminder.NONE
    clock.advance(hours=1)
    assert sessions.dispatch_reminders(uow, clock) == 0


def test_a_cancelled_booking_is_not_reminded(uow, clock, coordinator):
    s = sessions.schedule(uow, session_fields(clock), coordinator, clock)
    (a,) = people(uow, 1)
    sessions.book(uow, s.id, a.id, clock, CONFIG)
    sessions.cancel_booking(uow, s.id, a.id, clock, CONFIG)
    clock.current = s.starts_at - timedelta(hours=23)
    assert sessions.dispatch_reminders(uow, clock) == 0


def attended(uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator) -> tuple[Any, Volunteer]:
    s = sessions.schedule(uow, session_fields(clock), coordinator, clock)
    (a,) = people(uow, 1)
    sessions.book(uow, s.id, a.id, clock, CONFIG)
    clock.current = s.starts_at + timedelta(minutes=30)
    sessions.mark_attendance(uow, s.id, [{"volunteer_id": a.id, "attended": True}], coordinator, clock)
    return s, a


def test_attendance_verifies_the_training_by_whom_and_when(uow, clock, coordinator):
    s, a = attended(uow, clock, coordinator)
    (entry,) = a.trainings
    assert entry["code"] == "qi_introduction"
    assert entry["verified_by"] == coordinator.id and entry["session_id"] == s.id
    assert entry["verified_on"] == clock.now().date().isoformat()
    assert EventKind.VOLUNTEER_TRAINING_VERIFIED in uow.kinds(volunteer_id=a.id)
    # The event asks for the volunteer's suggestions to be scored again.
    assert [d.subject_id for d in uow.rescores.take(10)][-1] == a.id


def test_attendance_is_marked_only_once_the_session_has_begun(uow, clock, coordinator):
    s = sessions.schedule(uow, session_fields(clock), coordinator, clock)
    (a,) = people(uow, 1)
    sessions.book(uow, s.id, a.id, clock, CONFIG)
    with pytest.raises(Conflict):
        sessions.mark_attendance(uow, s.id, [{"volunteer_id": a.id, "attended": True}], coordinator, clock)


def test_unmarking_takes_back_the_verification_this_session_gave(uow, clock, coordinator):
    s, a = attended(uow, clock, coordinator)
    sessions.mark_attendance(uow, s.id, [{"volunteer_id": a.id, "attended": False}], coordinator, clock)
    assert a.verified_training_codes == set() and a.training_codes == {"qi_introduction"}


def test_a_volunteers_form_cannot_drop_or_add_a_verification(uow, clock, coordinator):
    from matcher.services import intake

    _, a = attended(uow, clock, coordinator)
    intake.update_volunteer(uow, a.id, {"trainings": [{"code": "qi_pocket", "completed_on": None}]}, clock)
    assert a.verified_training_codes == {"qi_introduction"}
    assert a.training_codes == {"qi_introduction", "qi_pocket"}


def test_a_declared_training_does_not_pass_the_gate_by_default():
    declared = factories.volunteer(roles=["project_team_member"], trainings=[{"code": "qi_introduction"}])
    request = factories.request(roles=[{"role": "project_team_member", "count": 1}])
    assert "missing_training" in screen(declared, request, "project_team_member", Standing(), CONFIG)
    lenient = replace(CONFIG, declared_trainings_count=True)
    assert "missing_training" not in screen(declared, request, "project_team_member", Standing(), lenient)
    verified = factories.volunteer(
        roles=["project_team_member"], trainings=[{"code": "qi_introduction", "verified_on": "2026-03-01"}]
    )
    assert "missing_training" not in screen(verified, request, "project_team_member", Standing(), CONFIG)


def test_the_setting_comes_from_the_environment():
    assert matching_from_env({}).declared_trainings_count is False
    assert matching_from_env({"QIMATCH_DECLARED_TRAINING_COUNTS": "true"}).declared_trainings_count is True
    with pytest.raises(ValueError, match="QIMATCH_DECLARED_TRAINING_COUNTS"):
        matching_from_env({"QIMATCH_DECLARED_TRAINING_COUNTS": "perhaps"})


def test_withdrawing_gives_places_to_come_to_the_waiting_list(uow, clock, coordinator):
    s = sessions.schedule(uow, session_fields(clock, capacity=1), coordinator, clock)
    a, b = people(uow, 2)
    sessions.book(uow, s.id, a.id, clock, CONFIG)
    sessions.book(uow, s.id, b.id, clock, CONFIG)
    volunteer_self.withdraw(uow, a.id, clock)
    mine = {x.volunteer_id: x.status for x in uow.bookings.where(session_id=s.id)}
    assert mine == {a.id: BookingStatus.CANCELLED, b.id: BookingStatus.BOOKED}


def test_the_export_holds_bookings_and_attendance(uow, clock, coordinator):
    s, a = attended(uow, clock, coordinator)
    (line,) = volunteer_self.export(uow, a.id, clock)["session_bookings"]
    assert line["status"] == "booked" and line["attended"] is True and line["training"] == "qi_introduction"


def test_a_cancelled_session_tells_everyone_and_cancels_calendar_entries(uow, clock, coordinator):
    s = sessions.schedule(uow, session_fields(clock, capacity=1), coordinator, clock)
    a, b = people(uow, 2)
    sessions.book(uow, s.id, a.id, clock, CONFIG)
    sessions.book(uow, s.id, b.id, clock, CONFIG)
    sessions.cancel_session(uow, s.id, coordinator, clock)
    assert len(owed(uow, "cancellation")) == 1 and len(owed(uow, "off")) == 1
    with pytest.raises(Conflict):
        sessions.book(uow, s.id, a.id, clock, CONFIG)


def test_another_areas_coordinator_does_not_see_the_session(uow, clock, coordinator):
    s = sessions.schedule(uow, session_fields(clock), coordinator, clock)
    elsewhere = Coordinator(email="x@nhs.example", password_hash="x", areas=["luton"])
    with pytest.raises(NotFound):
        sessions.cancel_session(uow, s.id, elsewhere, clock)


def send_all(uow: FakeUnitOfWork, clock: FakeClock, mailer: Any, letters: Any) -> None:
    from matcher.services import outgoing

    for key, (status, _) in list(uow.deliveries.claims.items()):
        if status == "owed":
            outgoing.send_owed(uow, mailer, letters, key, clock, CONFIG, 120)


def test_the_emails_carry_an_invitation_then_a_cancel_for_the_same_calendar_entry(uow, clock, coordinator, tmp_path):
    from icalendar import Calendar

    from tests.fakes import FakeMailer
    from tests.unit.test_letters import letters_for

    mailer, letters = FakeMailer(), letters_for(tmp_path, clock)
    s = sessions.schedule(uow, session_fields(clock, capacity=1), coordinator, clock)
    a, b = people(uow, 2)
    sessions.book(uow, s.id, a.id, clock, CONFIG)
    send_all(uow, clock, mailer, letters)  # each email goes soon after it is owed
    sessions.book(uow, s.id, b.id, clock, CONFIG)
    send_all(uow, clock, mailer, letters)
    sessions.cancel_booking(uow, s.id, a.id, clock, CONFIG)
    send_all(uow, clock, mailer, letters)
    by = {(e.to, e.subject.split(":")[0]): e for e in mailer.sent}
    assert set(by) == {(a.email, "Your place"), (b.email, "On the waiting list"), (a.email, "Cancelled"),
                       (b.email, "Your place")}  # fmt: skip
    invite = Calendar.from_ical(by[(a.email, "Your place")].attachments[0].data)
    cancel = Calendar.from_ical(by[(a.email, "Cancelled")].attachments[0].data)
    assert str(cancel["method"]) == "CANCEL" and str(invite["method"]) == "REQUEST"
    (ev_invite,) = invite.walk("VEVENT")
    (ev_cancel,) = cancel.walk("VEVENT")
    assert ev_invite["uid"] == ev_cancel["uid"] and int(ev_cancel["sequence"]) > int(ev_invite["sequence"])
    assert "moved up from the waiting list" in by[(b.email, "Your place")].text
    assert not by[(b.email, "On the waiting list")].attachments


def test_an_invitation_superseded_before_it_went_is_not_sent(uow, clock, coordinator, tmp_path):
    from tests.fakes import FakeMailer
    from tests.unit.test_letters import letters_for

    mailer, letters = FakeMailer(), letters_for(tmp_path, clock)
    s = sessions.schedule(uow, session_fields(clock), coordinator, clock)
    (a,) = people(uow, 1)
    sessions.book(uow, s.id, a.id, clock, CONFIG)
    sessions.cancel_booking(uow, s.id, a.id, clock, CONFIG)
    send_all(uow, clock, mailer, letters)
    assert [e.subject.split(":")[0] for e in mailer.sent] == ["Cancelled"]


def test_erasure_gives_the_place_away_and_keeps_the_attendance_counts(uow, clock, coordinator):
    s, a = attended(uow, clock, coordinator)
    later = sessions.schedule(uow, session_fields(clock, capacity=1), coordinator, clock)
    (b,) = people(uow, 1)
    sessions.book(uow, later.id, a.id, clock, CONFIG)
    sessions.book(uow, later.id, b.id, clock, CONFIG)
    volunteer_self.erase(uow, a.id, clock)
    assert a.trainings == [] and a.erased
    mine = {x.session_id: x for x in uow.bookings.where(volunteer_id=a.id)}
    assert mine[s.id].attended is True  # the count stays: who it was does not
    assert mine[later.id].status == "cancelled"
    assert uow.bookings.where(session_id=later.id, volunteer_id=b.id)[0].status == "booked"


def test_a_session_email_given_up_lands_on_the_volunteers_timeline(uow, clock, coordinator):
    from matcher.services import outgoing

    s = sessions.schedule(uow, session_fields(clock), coordinator, clock)
    (a,) = people(uow, 1)
    booking = sessions.book(uow, s.id, a.id, clock, CONFIG)
    fields = outgoing.about(uow, sessions.delivery_key(booking, "invitation"))
    assert fields["volunteer_id"] == a.id and fields["data"]["booking_id"] == booking.id


def test_a_batch_record_says_which_trainings_are_verified():
    from web.batch_parsers import parse_volunteer, use_vocabularies

    use_vocabularies(None)
    record = {**factories.offer(trainings=[{"code": "qi_introduction"}, {"code": "qi_pocket"}]), "id": "v1"}
    declared, _ = parse_volunteer(record)
    assert declared.verified_training_codes == set() and declared.training_codes == {"qi_introduction", "qi_pocket"}
    verified, _ = parse_volunteer({**record, "verified_trainings": ["qi_introduction", "improvement_coach"]})
    assert verified.verified_training_codes == {"qi_introduction", "improvement_coach"}
    assert verified.gate_trainings(False) == {"qi_introduction", "improvement_coach"}
