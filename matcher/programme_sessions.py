"""The programme's own sessions: introductory sessions and QI training, and who booked.

Plain dataclasses like ``matcher.domain``'s, mapped onto tables by ``matcher.adapters.orm``.
A session has a capacity; a booking beyond it waits in line and moves up by itself when
a place is given back. Attendance at a session that confers a training verifies that
training on the volunteer's record (``Volunteer.verify_training``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from matcher.domain import IllegalMove, _move, new_id


class SessionKind:
    """What a session is: fixed codes (the training it confers is a separate, vocabulary code)."""

    INTRODUCTORY = "introductory_session"
    QI_INTRODUCTION = "qi_introduction"
    QI_POCKET = "qi_pocket"
    IMPROVEMENT_COACH = "improvement_coach"
    ALL = (INTRODUCTORY, QI_INTRODUCTION, QI_POCKET, IMPROVEMENT_COACH)
    WORDS = {
        INTRODUCTORY: "Introductory session",
        QI_INTRODUCTION: "QI introduction",
        QI_POCKET: "Pocket QI",
        IMPROVEMENT_COACH: "Improvement coach training",
    }


class SessionStatus:
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    ALL = (SCHEDULED, CANCELLED)
    MOVES = {SCHEDULED: {CANCELLED}, CANCELLED: set()}


class BookingStatus:
    BOOKED = "booked"  # holds one of the session's places
    WAITING = "waiting"  # on the waiting list, in the order of ``queued_at``
    CANCELLED = "cancelled"
    ALL = (BOOKED, WAITING, CANCELLED)
    LIVE = (BOOKED, WAITING)
    # Cancelled is not final: someone may book the same session again (the same row, so one
    # calendar entry per person and session, revised by its SEQUENCE).
    MOVES = {BOOKED: {CANCELLED}, WAITING: {BOOKED, CANCELLED}, CANCELLED: {BOOKED, WAITING}}


class Reminder:
    """A booking's reminder the day before: a due row the dispatcher claims once."""

    DUE = "due"
    SENT = "sent"
    NONE = "none"  # not wanted: booked too late, cancelled, or the session is off


@dataclass(eq=False)
class ProgrammeSession:
    kind: str
    area: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    created_by: str  # the coordinator who scheduled it
    id: str = field(default_factory=new_id)
    status: str = SessionStatus.SCHEDULED
    title: str | None = None
    venue: str | None = None
    video_link: str | None = None
    training: str | None = None  # the trainings vocabulary's code attendance verifies
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def place(self) -> str | None:
        return self.venue or self.video_link

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    def started(self, now: datetime) -> bool:
        return self.starts_at <= now

    def open_for_booking(self, now: datetime) -> bool:
        return self.status == SessionStatus.SCHEDULED and not self.started(now)

    def cancel(self, now: datetime) -> None:
        _move(self, "session", SessionStatus.MOVES, SessionStatus.CANCELLED, "cancelled")
        self.updated_at = now


@dataclass(eq=False)
class Booking:
    session_id: str
    volunteer_id: str
    id: str = field(default_factory=new_id)
    status: str = BookingStatus.BOOKED
    queued_at: datetime | None = None  # when they joined the waiting list: its order
    from_waiting_list: bool = False  # their place came up from the waiting list
    # The calendar entry's revision (iCalendar SEQUENCE): raised on each invitation or
    # cancellation sent, so each is its own email and calendars apply them in order.
    sequence: int = 0
    remind_at: datetime | None = None
    reminder: str = Reminder.NONE
    attended: bool | None = None  # None until a coordinator marks attendance
    attendance_by: str | None = None
    attendance_on: date | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def take_place(self, session: ProgrammeSession, now: datetime, reminder_lead: timedelta) -> None:
        """Booked into one of the session's places (directly, or moved up from the waiting list)."""
        self.from_waiting_list = self.status == BookingStatus.WAITING
        _move(self, "booking", BookingStatus.MOVES, BookingStatus.BOOKED, "booked")
        self.queued_at = None
        self.sequence += 1
        self.updated_at = now
        self.plan_reminder(session, now, reminder_lead)

    def wait(self, now: datetime) -> None:
        _move(self, "booking", BookingStatus.MOVES, BookingStatus.WAITING, "put on the waiting list")
        self.queued_at = now
        self.sequence += 1  # each move is its own email (keys carry the sequence)
        self.from_waiting_list = False
        self.reminder = Reminder.NONE
        self.updated_at = now

    def cancel(self, now: datetime) -> bool:
        """Cancelled; True if it held a place (its calendar entry is then cancelled too)."""
        held = self.status == BookingStatus.BOOKED
        _move(self, "booking", BookingStatus.MOVES, BookingStatus.CANCELLED, "cancelled")
        if held:
            self.sequence += 1
        self.queued_at = None
        self.reminder = Reminder.NONE
        self.updated_at = now
        return held

    def plan_reminder(self, session: ProgrammeSession, now: datetime, lead: timedelta) -> None:
        """A reminder ``lead`` before the session, unless that moment has passed already
        (booked the day before: the invitation is reminder enough)."""
        self.remind_at = session.starts_at - lead
        self.reminder = Reminder.DUE if self.remind_at > now else Reminder.NONE

    def mark(self, attended: bool, by: str, on: date, now: datetime) -> None:
        if self.status != BookingStatus.BOOKED:
            raise IllegalMove(f"a {self.status} booking has no attendance to mark")
        self.attended, self.attendance_by, self.attendance_on = attended, by, on
        self.updated_at = now


def first_waiting(bookings: list[Booking]) -> Booking | None:
    """Who moves up next: the longest on the waiting list (ties by id, so any worker agrees)."""
    waiting = [b for b in bookings if b.status == BookingStatus.WAITING]
    return min(
        waiting,
        key=lambda b: (b.queued_at is None, b.queued_at.timestamp() if b.queued_at else 0.0, b.id),
        default=None,
    )
