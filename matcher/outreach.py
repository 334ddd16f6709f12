"""The involvement team's outreach: the events it goes to, and the meetings people
tell it about.

An outreach event (a stall at a borough wellbeing day, a visit to a local mental-health
meeting, a talk) has its own sign-up link, so that the programme can see which events
bring people in and how far they go: signed up, first suggested, first introduced,
involved a second time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from matcher.domain import new_id


class OutreachKind(StrEnum):
    STALL = "stall"
    COMMUNITY_MEETING = "community_meeting"
    TALK = "talk"
    OTHER = "other"


def new_sign_up_code() -> str:
    # Short enough to type from a printed leaflet, and a QR code of it stays coarse
    # enough to scan off a phone screen at a stall; it is public, not a secret.
    return secrets.token_urlsafe(6)


@dataclass
class OutreachEvent:
    name: str
    held_on: date
    area: str
    kind: str
    recorded_by: str  # the coordinator's id
    id: str = field(default_factory=new_id)
    people_reached: int | None = None  # how many people the team spoke to
    notes: str | None = None  # the team's own notes: about the event, not about people
    code: str = field(default_factory=new_sign_up_code)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class MeetingSuggestion:
    """Somebody tells the team about a meeting worth attending."""

    meeting: str
    area: str
    details: str  # when and where, in the suggester's words
    id: str = field(default_factory=new_id)
    why: str | None = None
    # Optional, so the team can ask more; cleared once a coordinator has dealt with it.
    contact_email: str | None = None
    created_at: datetime | None = None
    handled_at: datetime | None = None
    handled_by: str | None = None

    def handle(self, by: str, now: datetime) -> None:
        self.handled_at, self.handled_by = now, by
        self.contact_email = None  # nobody's address is kept longer than it is needed
