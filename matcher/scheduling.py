"""When chats happen: the introductory chat and the follow-ups after it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from matcher.config import MatchingConfig
from matcher.domain import FollowUp, Match, TeamRequest, Volunteer, slots

LONDON = ZoneInfo("Europe/London")
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DEFAULT_CHAT_TIME = time(10, 0)


def intro_time(approved_at: datetime, request: TeamRequest, volunteer: Volunteer, config: MatchingConfig) -> datetime:
    """The first team meeting time the volunteer is free for, from a few days on;
    otherwise the next weekday at 10:00 (London time)."""
    earliest = approved_at.astimezone(LONDON) + timedelta(days=config.intro_after_days)
    windows = slots(volunteer.availability)
    fitting = [s for s in slots(request.meeting_slots) if any(s.within(w) for w in windows)]
    for offset in range(7):
        day = (earliest + timedelta(days=offset)).date()
        code = DAYS[day.weekday()]
        if fitting:
            for s in sorted(fitting, key=lambda s: s.start):
                if s.day == code:
                    h, m = map(int, s.start.split(":"))
                    return datetime.combine(day, time(h, m), LONDON)
        elif day.weekday() < 5:
            return datetime.combine(day, DEFAULT_CHAT_TIME, LONDON)
    raise AssertionError("a week always holds a weekday")  # pragma: no cover


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
