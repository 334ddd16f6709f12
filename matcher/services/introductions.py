"""Introducing a team and a volunteer once a match is approved: each email exactly once.

Approval owes both introductions (``owe_introductions``, in its transaction);
a worker sends each through the one delivery path, and the second to go
marks the match introduced and schedules its follow-up chats.
"""

from __future__ import annotations

from datetime import datetime

from matcher.config import MatchingConfig
from matcher.domain import Event, EventKind, Match, MatchStatus, RequestStatus, VolunteerStatus
from matcher.ports import Clock, Email, Letters, Mailer, UnitOfWork
from matcher.scheduling import follow_ups_for
from matcher.services import deliveries, texts
from matcher.services.chats import schedule_introduction

PARTIES = ("team", "volunteer")


def delivery_key(match_id: str, party: str) -> str:
    return deliveries.key("introduction", match_id, party)


def owe_introductions(uow: UnitOfWork, match: Match, now: datetime) -> None:
    """Inside the approval's unit of work: both introductions are owed, and a text to a
    volunteer who prefers the phone and has a mobile."""
    for party in PARTIES:
        deliveries.owe(uow, delivery_key(match.id, party), now)
    volunteer = uow.volunteers.get(match.volunteer_id)
    texts.owe_alongside(
        uow, delivery_key(match.id, "volunteer"), volunteer, now,
        match_id=match.id, team_request_id=match.team_request_id, volunteer_id=match.volunteer_id,
    )  # fmt: skip


def send_introduction(
    uow: UnitOfWork,
    mailer: Mailer,
    letters: Letters,
    match_id: str,
    party: str,
    clock: Clock,
    config: MatchingConfig,
    lease_seconds: int,
) -> int:
    """Send one party's introduction if it is still owed and still wanted; 1 if it went now.

    Safe to run twice or concurrently: the email is claimed under its key
    before sending, and the claim is committed before the SMTP conversation.
    """
    key = delivery_key(match_id, party)
    sent_match: list[Match] = []

    def compose() -> Email | None:
        with uow:
            # Locked: two first sends agree on one introductory chat time.
            match = uow.matches.get(match_id, for_update=True)
            if match is None or match.status not in MatchStatus.COMMITTED:
                return None
            request = uow.requests.get(match.team_request_id)
            volunteer = uow.volunteers.get(match.volunteer_id)
            assert request is not None and volunteer is not None
            if request.status == RequestStatus.CLOSED or volunteer.status == VolunteerStatus.WITHDRAWN:
                return None
            if match.intro_at is None:
                schedule_introduction(uow, match, request, volunteer, config, clock)
                uow.commit()
        sent_match.append(match)
        return letters.introduction(party, match, request, volunteer, key)

    def sent(at: datetime) -> Event:
        return Event.of_match(EventKind.EMAIL_SENT, sent_match[0], at, letter="introduction", to=party)

    went = deliveries.deliver(uow, mailer, key, compose, clock, lease_seconds, sent)
    # The match moves on once each party's email is settled: sent, or refused for good
    # (a bad address must not hold up the other party; the timeline says what failed).
    settled = [uow.deliveries.status(delivery_key(match_id, p)) for p in PARTIES]
    if all(s in ("sent", "failed") for s in settled) and "sent" in settled:
        _mark_introduced(uow, match_id, clock, config)
    return int(went)


def send_introductions(
    uow: UnitOfWork,
    mailer: Mailer,
    letters: Letters,
    match_id: str,
    clock: Clock,
    config: MatchingConfig,
    lease_seconds: int,
) -> int:
    """Both parties' introductions, one after the other; returns how many went now."""
    return sum(
        send_introduction(uow, mailer, letters, match_id, party, clock, config, lease_seconds) for party in PARTIES
    )


def _mark_introduced(uow: UnitOfWork, match_id: str, clock: Clock, config: MatchingConfig) -> None:
    now = clock.now()
    with uow:
        match = uow.matches.get(match_id, for_update=True)
        if match is None or match.status != MatchStatus.APPROVED:
            return  # another run got here first
        match.introduce(now)
        uow.events.add(Event.of_match(EventKind.MATCH_INTRODUCED, match, now))
        for follow_up in follow_ups_for(match, config, now):
            uow.follow_ups.add(follow_up)
            uow.events.add(
                Event(
                    EventKind.FOLLOW_UP_SCHEDULED,
                    now,
                    match_id=match.id,
                    follow_up_id=follow_up.id,
                    data={"sequence": follow_up.sequence, "due_at": follow_up.due_at.isoformat()},
                )
            )
        uow.commit()
