"""When chats happen: the introductory chat and the follow-ups after it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from matcher.config import MatchingConfig
from matcher.domain import FollowUp, Match, TeamRequest, Volunteer, slots

LONDON = ZoneInfo("Europe/London")
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DEFAULT_CHAT_TIME = time(10, 0)


# How long a chat is held for when keeping a person's chats apart.
CHAT_LENGTH = timedelta(hours=1)
# Flexible teams: the times of day tried, in order, on each weekday.
FLEXIBLE_TIMES = (time(10, 0), time(14, 0), time(11, 30), time(15, 30))
# How many weeks ahead to look for a time that keeps every chat apart.
WEEKS_AHEAD = 8


def intro_time(
    approved_at: datetime,
    request: TeamRequest,
    volunteer: Volunteer,
    config: MatchingConfig,
    busy: Sequence[datetime] = (),
) -> datetime:
    """The first team meeting time the volunteer is free for, from a few days on;
    otherwise a weekday at 10:00 (else 14:00, ...), London time.

    ``busy`` holds the volunteer's other chats (introductions and follow-ups): the
    chosen time, and the follow-ups it brings, never meet one of them, so nobody
    is booked for two of qimatch's chats at once.
    """
    earliest = approved_at.astimezone(LONDON) + timedelta(days=config.intro_after_days)
    windows = slots(volunteer.availability)
    fitting = [s for s in slots(request.meeting_slots) if any(s.within(w) for w in windows)]
    first_choice: datetime | None = None
    for offset in range(7 * WEEKS_AHEAD):
        day = (earliest + timedelta(days=offset)).date()
        code = DAYS[day.weekday()]
        if fitting:
            on_day = sorted((s for s in fitting if s.day == code), key=lambda s: s.start)
            starts = [time(int(s.start[:2]), int(s.start[3:5])) for s in on_day]
        else:
            starts = list(FLEXIBLE_TIMES) if day.weekday() < 5 else []
        for start in starts:
            at = datetime.combine(day, start, LONDON)
            first_choice = first_choice or at
            if _apart(at, config, busy):
                return at
    if first_choice is None:  # pragma: no cover - a week always holds a weekday or a fitting slot
        raise AssertionError("no day to meet")
    return first_choice  # every time for two months clashes: keep the first, the coordinator will see it


def _apart(at: datetime, config: MatchingConfig, busy: Sequence[datetime]) -> bool:
    """The introduction at ``at`` and its follow-ups meet none of the ``busy`` chats."""
    # Follow-ups keep the London wall-clock time (as follow_ups_for makes them); compared in UTC.
    ours = [(at + timedelta(weeks=w)).astimezone(UTC) for w in (0, *config.follow_up_weeks)]
    return all(abs(a - b.astimezone(UTC)) >= CHAT_LENGTH for a in ours for b in busy)


def follow_up_times(intro_at: datetime, config: MatchingConfig) -> list[datetime]:
    """When each follow-up chat falls: so many weeks after the introductory chat."""
    # Weeks on the London wall clock: a chat at 14:00 stays at 14:00 across a clock change.
    return [intro_at.astimezone(LONDON) + timedelta(weeks=weeks) for weeks in config.follow_up_weeks]


def follow_ups_for(match: Match, config: MatchingConfig, now: datetime) -> list[FollowUp]:
    assert match.intro_at is not None
    return [
        FollowUp(match_id=match.id, sequence=i + 1, due_at=due_at, created_at=now)
        for i, due_at in enumerate(follow_up_times(match.intro_at, config))
    ]
