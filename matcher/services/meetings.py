"""The introductory chat's time and place, and the calendar updates a change sends.

Once the introductions (with their invitation) have gone, a changed time or
place is sent to both parties as the same calendar entry with a higher
SEQUENCE; an involvement that ends cancels it. Each of those emails is owed
here, in the change's own transaction, and sent by a worker through the one
delivery path (``matcher.services.deliveries``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from matcher.config import MatchingConfig
from matcher.domain import (
    AuditAction,
    AuditSubject,
    Coordinator,
    Event,
    EventKind,
    FollowUpStatus,
    Match,
    MatchStatus,
    Volunteer,
)
from matcher.errors import Conflict, Invalid
from matcher.ports import Clock, Letters, Mailer, UnitOfWork
from matcher.scheduling import follow_up_times
from matcher.services import audit, deliveries
from matcher.services.decisions import visible_match

PARTIES = ("team", "volunteer")
UPDATE, CANCELLATION = "invitation", "cancellation"
MEETING_FIELDS = ("intro_at", "venue", "video_link")


def invitation_sent(uow: UnitOfWork, match: Match) -> bool:
    """Inside a unit of work: whether either party holds the introductory chat in their calendar.

    Read from the match's timeline in the caller's transaction (an introduction's
    ``email.sent``), not from the delivery rows, whose reads are transactions of
    their own: SQLite would make one wait for the other's write lock.
    """
    if match.status == MatchStatus.INTRODUCED:
        return True
    return uow.events.count(match_id=match.id, kind=EventKind.EMAIL_SENT) > 0


def _owe_to_both(uow: UnitOfWork, letter: str, match: Match, now: datetime) -> None:
    match.invite_sequence += 1
    for party in PARTIES:
        deliveries.owe(uow, deliveries.key(letter, match.id, match.invite_sequence, party), now)


def set_meeting(
    uow: UnitOfWork,
    match_id: str,
    coordinator: Coordinator,
    changes: dict[str, Any],
    clock: Clock,
    config: MatchingConfig,
) -> Match:
    """A coordinator sets the introductory chat's time, venue or video link.

    Blank text clears the match's own value (the request's is used again).
    """
    now = clock.now()
    with uow:
        match, _ = visible_match(uow, match_id, coordinator, for_update=True)
        if match.status not in MatchStatus.COMMITTED:
            raise Conflict(f"a {match.status} match has no introductory chat to arrange")
        intro_at = changes.get("intro_at")
        if intro_at is not None and intro_at <= now:
            raise Invalid({"intro_at": ["Choose a time in the future."]})
        before = (match.intro_at, match.venue, match.video_link)
        if intro_at is not None:
            match.intro_at = intro_at
        for name in ("venue", "video_link"):
            if name in changes:
                setattr(match, name, (changes[name] or "").strip() or None)
        if (match.intro_at, match.venue, match.video_link) == before:
            return match
        match.updated_at = now
        if invitation_sent(uow, match):
            _owe_to_both(uow, UPDATE, match, now)
            if match.intro_at != before[0]:
                _reschedule_follow_ups(uow, match, config)
        uow.events.add(
            Event.of_match(
                EventKind.MATCH_MEETING_CHANGED,
                match,
                now,
                by=coordinator.id,
                sequence=match.invite_sequence,
                changed=[n for n, old in zip(MEETING_FIELDS, before, strict=True) if getattr(match, n) != old],
            )
        )
        audit.record(
            uow,
            coordinator,
            AuditAction.MATCH_MEETING_SET,
            AuditSubject.MATCH,
            match.id,
            clock,
            fields=[n for n, old in zip(MEETING_FIELDS, before, strict=True) if getattr(match, n) != old],
        )
        uow.commit()
        return match


def _reschedule_follow_ups(uow: UnitOfWork, match: Match, config: MatchingConfig) -> None:
    # The follow-ups count from the introductory chat: chats not yet invited move with it.
    assert match.intro_at is not None
    times = follow_up_times(match.intro_at, config)
    for follow_up in uow.follow_ups.where(match_id=match.id, status=FollowUpStatus.SCHEDULED):
        if follow_up.sequence <= len(times):
            follow_up.due_at = times[follow_up.sequence - 1]


def cancel_invitation(uow: UnitOfWork, match: Match, now: datetime) -> None:
    """Inside a unit of work, as an involvement ends: take the chat out of both calendars."""
    if match.intro_at is not None and invitation_sent(uow, match):
        _owe_to_both(uow, CANCELLATION, match, now)


def send_change(
    uow: UnitOfWork,
    mailer: Mailer,
    letters: Letters,
    delivery_key: str,
    clock: Clock,
    lease_seconds: int,
) -> bool:
    """Send one owed calendar update or cancellation (a worker task)."""
    letter, (match_id, sequence, party) = deliveries.letter_of(delivery_key)
    with uow:
        match = uow.matches.get(match_id)
        request = uow.requests.get(match.team_request_id) if match else None
        volunteer = uow.volunteers.get(match.volunteer_id) if match else None

    def compose() -> Any:
        if match is None or request is None or volunteer is None or _gone(volunteer, party):
            return None
        if letter == UPDATE and (match.invite_sequence != int(sequence) or match.status == MatchStatus.CLOSED):
            return None  # a later change (or the cancellation) supersedes this one
        return letters.meeting_change(letter, party, match, request, volunteer, int(sequence), delivery_key)

    def sent(at: datetime) -> Event:
        assert match is not None
        return Event.of_match(
            EventKind.EMAIL_SENT, match, at, letter=f"meeting_{letter}", to=party, sequence=int(sequence)
        )

    return deliveries.deliver(uow, mailer, delivery_key, compose, clock, lease_seconds, sent)


def _gone(volunteer: Volunteer, party: str) -> bool:
    # An erased volunteer's address is no address: nothing more goes to it.
    return party == "volunteer" and volunteer.erased
