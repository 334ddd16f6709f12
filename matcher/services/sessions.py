"""Introductory sessions and QI training: scheduling, booking, the waiting list, attendance.

Locks go in one order: the session's row first (every booking and cancellation holds it,
so two people taking the last place are decided one after the other and the capacity is
never exceeded), then a volunteer's. Emails are owed here, in the change's own
transaction, and sent by a worker through the one delivery path: delivery keys
``session:<booking>:<stage>:<sequence>``; the reminder the day before is a due booking
row that the dispatcher (beat) claims once, never a Celery ETA.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from matcher.config import MatchingConfig
from matcher.domain import Coordinator, Event, EventKind, Volunteer, VolunteerStatus
from matcher.errors import Conflict, Invalid, NotFound
from matcher.ports import Clock, Email, Letters, Mailer, UnitOfWork
from matcher.programme_sessions import (
    Booking,
    BookingStatus,
    ProgrammeSession,
    Reminder,
    SessionKind,
    SessionStatus,
    first_waiting,
)
from matcher.scheduling import LONDON
from matcher.services import deliveries, texts
from matcher.services.visibility import areas_in_view, sees_volunteer

LETTER = "session"
INVITATION, WAITING, REMINDER, CANCELLATION = "invitation", "waiting", "reminder", "cancellation"
OFF = "off"  # the session is cancelled, to someone on its waiting list: no calendar entry to take back
STAGES = (INVITATION, WAITING, REMINDER, CANCELLATION, OFF)
MAX_CAPACITY = 500
FIELDS = ("kind", "title", "area", "starts_at", "ends_at", "venue", "video_link", "capacity", "training")
# A change to any of these is a change to the calendar entry: booked people get it again.
CALENDAR_FIELDS = ("title", "starts_at", "ends_at", "venue", "video_link")


def delivery_key(booking: Booking, stage: str) -> str:
    return deliveries.key(LETTER, booking.id, stage, booking.sequence)


def _lead(config: MatchingConfig) -> timedelta:
    return timedelta(hours=config.reminder_lead_hours)


def _event(
    kind: EventKind, session: ProgrammeSession, now: datetime, booking: Booking | None = None, **data: Any
) -> Event:
    ids: dict[str, Any] = {"session_id": session.id}
    if booking is not None:
        ids["booking_id"] = booking.id
    return Event(kind, now, volunteer_id=booking.volunteer_id if booking else None, data={**ids, **data})


# --- Coordinators: schedule, change, cancel ---------------------------------------------------


def _check(values: dict[str, Any], now: datetime) -> None:
    """Every rule a session's fields break, named by field, before anything is stored."""
    errors: dict[str, list[str]] = {}
    if values["kind"] not in SessionKind.ALL:
        errors["kind"] = ["Choose one of: " + ", ".join(SessionKind.ALL) + "."]
    if values["starts_at"] <= now:
        errors["starts_at"] = ["Choose a time in the future."]
    if values["ends_at"] <= values["starts_at"]:
        errors["ends_at"] = ["The end must be after the start."]
    elif values["ends_at"] - values["starts_at"] > timedelta(hours=12):
        errors["ends_at"] = ["A session lasts at most 12 hours."]
    if not 1 <= int(values["capacity"]) <= MAX_CAPACITY:
        errors["capacity"] = [f"Between 1 and {MAX_CAPACITY} places."]
    if not (values.get("venue") or values.get("video_link")):
        errors["venue"] = ["Give a place or a video link."]
    if errors:
        raise Invalid(errors)


def _tidy(values: dict[str, Any]) -> dict[str, Any]:
    # Blank text is no value: a cleared venue leaves the video link as the place.
    return {k: (v.strip() or None) if isinstance(v, str) and k != "kind" else v for k, v in values.items()}


def schedule(uow: UnitOfWork, fields: dict[str, Any], coordinator: Coordinator, clock: Clock) -> ProgrammeSession:
    now = clock.now()
    values = _tidy({k: fields.get(k) for k in FIELDS})
    areas_in_view(coordinator, values["area"])  # only in an area they look after (403 otherwise)
    _check(values, now)
    session = ProgrammeSession(**values, created_by=coordinator.id, created_at=now, updated_at=now)
    with uow:
        uow.programme_sessions.add(session)
        uow.events.add(_event(EventKind.SESSION_SCHEDULED, session, now, by=coordinator.id))
        uow.commit()
    return session


def visible_session(
    uow: UnitOfWork, session_id: str, coordinator: Coordinator, for_update: bool = False
) -> ProgrammeSession:
    """Inside a unit of work: a session in one of the coordinator's areas, else not found."""
    session = uow.programme_sessions.get(session_id, for_update=for_update)
    if session is None or not coordinator.covers(session.area):
        raise NotFound("session not found")
    return session


def update(
    uow: UnitOfWork,
    session_id: str,
    changes: dict[str, Any],
    coordinator: Coordinator,
    clock: Clock,
    config: MatchingConfig,
) -> ProgrammeSession:
    """Change a session's details. A new time or place reaches every booked person's
    calendar (same entry, next SEQUENCE); more places move the waiting list up; fewer than
    are booked are refused."""
    now = clock.now()
    changes = _tidy(changes)
    with uow:
        session = visible_session(uow, session_id, coordinator, for_update=True)
        if session.status != SessionStatus.SCHEDULED:
            raise Conflict("a cancelled session cannot be changed")
        if session.started(now):
            raise Conflict("a session that has begun cannot be changed")
        if "area" in changes:
            areas_in_view(coordinator, changes["area"])
        values = {k: changes.get(k, getattr(session, k)) for k in FIELDS}
        _check(values, now)
        bookings = uow.bookings.where(session_id=session.id, status=list(BookingStatus.LIVE))
        booked = [b for b in bookings if b.status == BookingStatus.BOOKED]
        if values["capacity"] < len(booked):
            raise Invalid({"capacity": [f"{len(booked)} people are booked already; cancel bookings first."]})
        changed = [k for k in FIELDS if values[k] != getattr(session, k)]
        if not changed:
            return session
        for k in changed:
            setattr(session, k, values[k])
        session.updated_at = now
        if any(k in CALENDAR_FIELDS for k in changed):
            for b in booked:
                b.sequence += 1
                b.plan_reminder(session, now, _lead(config))
                deliveries.owe(uow, delivery_key(b, INVITATION), now)
        uow.events.add(_event(EventKind.SESSION_CHANGED, session, now, by=coordinator.id, changed=changed))
        _move_up(uow, session, bookings, now, config)
        uow.commit()
        return session


def cancel_session(uow: UnitOfWork, session_id: str, coordinator: Coordinator, clock: Clock) -> ProgrammeSession:
    """The session will not happen: booked places are taken out of calendars, everyone is told."""
    now = clock.now()
    with uow:
        session = visible_session(uow, session_id, coordinator, for_update=True)
        session.cancel(now)
        for b in uow.bookings.where(session_id=session.id, status=list(BookingStatus.LIVE)):
            deliveries.owe(uow, delivery_key(b, CANCELLATION if b.cancel(now) else OFF), now)
        uow.events.add(_event(EventKind.SESSION_CANCELLED, session, now, by=coordinator.id))
        uow.commit()
        return session


# --- Volunteers: book, cancel; the waiting list ------------------------------------------------


def in_reach(session: ProgrammeSession, volunteer: Volunteer) -> bool:
    """A session a volunteer can get to: in an area they live in or travel to, or by video."""
    return session.area in volunteer.reachable_areas or (not session.venue and bool(session.video_link))


def _volunteer(uow: UnitOfWork, volunteer_id: str) -> Volunteer:
    volunteer = uow.volunteers.get(volunteer_id)
    if volunteer is None or volunteer.erased:
        raise NotFound("volunteer not found")
    return volunteer


def book(
    uow: UnitOfWork,
    session_id: str,
    volunteer_id: str,
    clock: Clock,
    config: MatchingConfig,
    coordinator: Coordinator | None = None,
) -> Booking:
    """A place if one is free, else the waiting list. ``coordinator``: booking on someone's behalf."""
    now = clock.now()
    with uow:
        # The session's lock first: every booking of it waits here, then counts the places.
        session = (
            visible_session(uow, session_id, coordinator, for_update=True)
            if coordinator is not None
            else uow.programme_sessions.get(session_id, for_update=True)
        )
        volunteer = _volunteer(uow, volunteer_id)
        if session is None or (coordinator is None and not in_reach(session, volunteer)):
            raise NotFound("session not found")
        if coordinator is not None and not sees_volunteer(uow, coordinator, volunteer):
            raise NotFound("volunteer not found")
        if not session.open_for_booking(now):
            raise Conflict("this session is no longer open for booking")
        if volunteer.status == VolunteerStatus.WITHDRAWN:
            raise Conflict("a volunteer who has stopped cannot book a session")
        found = uow.bookings.where(session_id=session.id, volunteer_id=volunteer.id)
        booking = found[0] if found else None
        if booking is not None and booking.status in BookingStatus.LIVE:
            where = "have a place" if booking.status == BookingStatus.BOOKED else "are on the waiting list"
            raise Conflict(f"you {where} for this session already")
        if booking is None:
            booking = Booking(session.id, volunteer.id, status=BookingStatus.CANCELLED, created_at=now, updated_at=now)
            uow.bookings.add(booking)
        booked = uow.bookings.count(session_id=session.id, status=BookingStatus.BOOKED)
        waiting = uow.bookings.count(session_id=session.id, status=BookingStatus.WAITING)
        if booked < session.capacity and not waiting:
            booking.take_place(session, now, _lead(config))
            deliveries.owe(uow, delivery_key(booking, INVITATION), now)
            uow.events.add(_event(EventKind.SESSION_BOOKED, session, now, booking, by=_by(coordinator)))
        else:
            booking.wait(now)
            deliveries.owe(uow, delivery_key(booking, WAITING), now)
            uow.events.add(_event(EventKind.SESSION_WAITLISTED, session, now, booking, by=_by(coordinator)))
        uow.commit()
        return booking


def _by(coordinator: Coordinator | None) -> str:
    return coordinator.id if coordinator is not None else "self"


def cancel_booking(
    uow: UnitOfWork,
    session_id: str,
    volunteer_id: str,
    clock: Clock,
    config: MatchingConfig,
    coordinator: Coordinator | None = None,
) -> Booking:
    """A place given back (its calendar entry cancelled) moves the first on the waiting list up."""
    now = clock.now()
    with uow:
        session = (
            visible_session(uow, session_id, coordinator, for_update=True)
            if coordinator is not None
            else uow.programme_sessions.get(session_id, for_update=True)
        )
        if session is None:
            raise NotFound("session not found")
        found = uow.bookings.where(session_id=session.id, volunteer_id=volunteer_id)
        if not found or found[0].status not in BookingStatus.LIVE:
            raise Conflict("there is no booking of this session to cancel")
        booking = found[0]
        if session.started(now):
            raise Conflict("a session that has begun cannot be cancelled from here")
        if booking.cancel(now):
            deliveries.owe(uow, delivery_key(booking, CANCELLATION), now)
        uow.events.add(_event(EventKind.SESSION_BOOKING_CANCELLED, session, now, booking, by=_by(coordinator)))
        _move_up(uow, session, uow.bookings.where(session_id=session.id, status=list(BookingStatus.LIVE)), now, config)
        uow.commit()
        return booking


def _move_up(
    uow: UnitOfWork, session: ProgrammeSession, bookings: list[Booking], now: datetime, config: MatchingConfig
) -> None:
    """Under the session's lock: the waiting list fills the places free, longest waiting first."""
    live = [b for b in bookings if b.status in BookingStatus.LIVE]
    free = session.capacity - sum(b.status == BookingStatus.BOOKED for b in live)
    while free > 0 and session.open_for_booking(now):
        nxt = first_waiting(live)
        if nxt is None:
            return
        nxt.take_place(session, now, _lead(config))
        deliveries.owe(uow, delivery_key(nxt, INVITATION), now)
        uow.events.add(_event(EventKind.SESSION_MOVED_UP, session, now, nxt))
        free -= 1


def release_volunteer(uow: UnitOfWork, volunteer_id: str, now: datetime, config: MatchingConfig) -> None:
    """Inside a unit of work, as someone withdraws or is erased: their places to come go to
    whoever waits. Nothing is emailed to them (they asked to stop); past attendance stays."""
    for booking in uow.bookings.where(volunteer_id=volunteer_id, status=list(BookingStatus.LIVE)):
        session = uow.programme_sessions.get(booking.session_id, for_update=True)
        if session is None or session.started(now):
            continue
        if booking.cancel(now):
            # Out of their calendar (an erased person's address is gone: the email is dropped).
            deliveries.owe(uow, delivery_key(booking, CANCELLATION), now)
        uow.events.add(_event(EventKind.SESSION_BOOKING_CANCELLED, session, now, booking, by="withdrawn"))
        _move_up(uow, session, uow.bookings.where(session_id=session.id, status=list(BookingStatus.LIVE)), now, config)


# --- Attendance ---------------------------------------------------------------------------------


def mark_attendance(
    uow: UnitOfWork,
    session_id: str,
    marks: list[dict[str, Any]],
    coordinator: Coordinator,
    clock: Clock,
) -> list[Booking]:
    """Who came. Attendance at a session that confers a training verifies it on the
    volunteer's record (by whom, on what date), which unlocks the roles requiring it: a
    ``volunteer.training_verified`` event rescores them. Unmarking takes back a
    verification this session gave."""
    now = clock.now()
    today = now.astimezone(LONDON).date()
    with uow:
        session = visible_session(uow, session_id, coordinator, for_update=True)
        if session.status != SessionStatus.SCHEDULED:
            raise Conflict("a cancelled session has no attendance")
        if not session.started(now):
            raise Conflict("attendance is marked once the session has begun")
        by_volunteer = {b.volunteer_id: b for b in uow.bookings.where(session_id=session.id)}
        unknown = [m["volunteer_id"] for m in marks if m["volunteer_id"] not in by_volunteer]
        if unknown:
            raise Invalid({"marks": [f"Not booked on this session: {', '.join(sorted(unknown))}."]})
        changed = []
        for m in sorted(marks, key=lambda m: str(m["volunteer_id"])):  # volunteers' locks in one order
            booking = by_volunteer[m["volunteer_id"]]
            if booking.status != BookingStatus.BOOKED:
                raise Invalid({"marks": [f"{m['volunteer_id']} has no place on this session."]})
            attended = bool(m["attended"])
            if booking.attended == attended:
                continue
            booking.mark(attended, coordinator.id, today, now)
            changed.append(booking)
            uow.events.add(_event(EventKind.SESSION_ATTENDANCE_MARKED, session, now, booking, attended=attended))
            if session.training:
                _record_training(uow, session, booking, attended, coordinator, now)
        uow.commit()
        return changed


def _record_training(
    uow: UnitOfWork,
    session: ProgrammeSession,
    booking: Booking,
    attended: bool,
    coordinator: Coordinator,
    now: datetime,
) -> None:
    assert session.training is not None
    volunteer = uow.volunteers.get(booking.volunteer_id, for_update=True)
    if volunteer is None or volunteer.erased:
        return
    if attended:
        on = now.astimezone(LONDON).date()
        if volunteer.verify_training(session.training, coordinator.id, on, now, session.id):
            uow.events.add(
                Event(
                    EventKind.VOLUNTEER_TRAINING_VERIFIED,
                    now,
                    volunteer_id=volunteer.id,
                    data={"code": session.training, "session_id": session.id, "by": coordinator.id},
                )
            )
    elif volunteer.unverify_training(session.training, session.id, now):
        uow.events.add(
            Event(
                EventKind.VOLUNTEER_TRAINING_VERIFIED,
                now,
                volunteer_id=volunteer.id,
                data={"code": session.training, "session_id": session.id, "verified": False, "by": coordinator.id},
            )
        )


# --- Reminders and the emails -------------------------------------------------------------------


def dispatch_reminders(uow: UnitOfWork, clock: Clock) -> int:
    """Beat, every minute: each booking whose reminder is due is claimed once (its row moves
    from due to sent in the transaction that owes the email); a late one is dropped."""
    now = clock.now()
    owed = 0
    with uow:
        # Locked rows: an overlapping run waits, then no longer finds them due.
        for booking in uow.bookings.where(reminder=Reminder.DUE, order_by="remind_at", for_update=True):
            if booking.remind_at is None or booking.remind_at > now:
                continue
            session = uow.programme_sessions.get(booking.session_id)
            if booking.status != BookingStatus.BOOKED or session is None or not session.open_for_booking(now):
                booking.reminder = Reminder.NONE
                continue
            booking.reminder = Reminder.SENT
            deliveries.owe(uow, delivery_key(booking, REMINDER), now)
            # And by text, if they prefer the phone.
            texts.owe_alongside(uow, delivery_key(booking, REMINDER), uow.volunteers.get(booking.volunteer_id), now)
            owed += 1
        uow.commit()
    return owed


def send_letter(uow: UnitOfWork, mailer: Mailer, letters: Letters, key: str, clock: Clock, lease_seconds: int) -> int:
    """One owed session email (a worker's send_email), re-checked against the booking now."""
    _, (booking_id, stage, sequence, *_) = deliveries.letter_of(key)
    with uow:
        booking = uow.bookings.get(booking_id)
        session = uow.programme_sessions.get(booking.session_id) if booking else None
        volunteer = uow.volunteers.get(booking.volunteer_id) if booking else None

    def compose() -> Email | None:
        if booking is None or session is None or volunteer is None or volunteer.erased:
            return None
        stale = {
            # A later change or the cancellation supersedes an invitation; a reminder is for a place still held.
            INVITATION: booking.status != BookingStatus.BOOKED or booking.sequence != int(sequence),
            WAITING: booking.status != BookingStatus.WAITING,
            REMINDER: booking.status != BookingStatus.BOOKED or not session.open_for_booking(clock.now()),
            CANCELLATION: False,
            OFF: False,
        }
        if stale[stage]:
            return None
        return letters.session(stage, session, booking, volunteer, int(sequence), key)

    def sent(at: datetime) -> Event:
        assert booking is not None and session is not None
        return _event(EventKind.EMAIL_SENT, session, at, booking, letter=f"session_{stage}", to="volunteer")

    return int(deliveries.deliver(uow, mailer, key, compose, clock, lease_seconds, sent))


def about(uow: UnitOfWork, booking_id: str) -> dict[str, Any]:
    """Inside a unit of work: the timeline a session email belongs on (the volunteer's)."""
    booking = uow.bookings.get(booking_id)
    if booking is None:
        return {}
    return {"volunteer_id": booking.volunteer_id, "data": {"session_id": booking.session_id, "booking_id": booking.id}}
