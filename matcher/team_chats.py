"""Informal chats about involvement, offered to QI teams by their area's coordinators.

A coordinator publishes free half-hour slots; a team books one (from its request's
status page, or from the home page before it has a request); both get a calendar
invitation. A slot is booked once: the booking is a status change on the slot's row
under its lock, so two teams racing for it get one chat and one "just taken".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from matcher.domain import _move, new_id


class TeamChatStatus:
    OPEN = "open"
    BOOKED = "booked"
    CANCELLED = "cancelled"
    ALL = (OPEN, BOOKED, CANCELLED)
    MOVES = {OPEN: {BOOKED, CANCELLED}, BOOKED: {CANCELLED}, CANCELLED: set()}


CHAT_MINUTES = 30
PARTIES = ("team", "coordinator")


@dataclass
class TeamChat:
    coordinator_id: str
    area: str
    starts_at: datetime
    id: str = field(default_factory=new_id)
    minutes: int = CHAT_MINUTES
    place: str | None = None  # a room, or the video link the invitation carries
    status: str = TeamChatStatus.OPEN
    # The booking: who asked, and about what. Cleared when the team's record is erased.
    team_request_id: str | None = None
    team_name: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    about: str | None = None
    booked_at: datetime | None = None
    invite_sequence: int = 0  # iCalendar SEQUENCE: raised by a cancellation
    created_at: datetime | None = None

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)

    def overlaps(self, other: TeamChat) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at

    def book(
        self,
        team_name: str,
        contact_name: str,
        contact_email: str,
        about: str | None,
        now: datetime,
        team_request_id: str | None = None,
    ) -> None:
        _move(self, "chat slot", TeamChatStatus.MOVES, TeamChatStatus.BOOKED, "booked")
        self.team_name, self.contact_name, self.contact_email = team_name, contact_name, contact_email
        self.about, self.team_request_id, self.booked_at = about, team_request_id, now

    def cancel(self) -> None:
        _move(self, "chat slot", TeamChatStatus.MOVES, TeamChatStatus.CANCELLED, "cancelled")
        self.invite_sequence += 1
