"""A volunteer's chats with qimatch's teams, kept apart: nobody is booked for two at once."""

from __future__ import annotations

from datetime import datetime

from matcher.config import MatchingConfig
from matcher.domain import FollowUpStatus, Match, MatchStatus, TeamRequest, Volunteer
from matcher.ports import Clock, UnitOfWork
from matcher.scheduling import intro_time


def booked_chats(uow: UnitOfWork, volunteer_id: str, besides: str) -> list[datetime]:
    """Times of the volunteer's other introductions and follow-ups still to come or held."""
    held = uow.matches.where(volunteer_id=volunteer_id, status=list(MatchStatus.COMMITTED))
    others = [m for m in held if m.id != besides]
    times = [m.intro_at for m in others if m.intro_at is not None]
    if others:
        live = [FollowUpStatus.SCHEDULED, FollowUpStatus.INVITED]
        times += [f.due_at for f in uow.follow_ups.where(match_id=[m.id for m in others], status=live)]
    return times


def schedule_introduction(
    uow: UnitOfWork, match: Match, request: TeamRequest, volunteer: Volunteer, config: MatchingConfig, clock: Clock
) -> None:
    """Set the introductory chat's time, clear of the volunteer's other chats.

    The volunteer's row is locked first, so two introductions of one person chosen
    at the same moment by two workers are chosen one after the other.
    """
    uow.volunteers.get(volunteer.id, for_update=True)
    busy = booked_chats(uow, volunteer.id, besides=match.id)
    match.intro_at = intro_time(clock.now(), request, volunteer, config, busy)
