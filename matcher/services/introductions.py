"""Introducing a team and a volunteer once a match is approved: each email exactly once."""

from __future__ import annotations

from datetime import timedelta

from matcher.config import MatchingConfig
from matcher.domain import Event, MatchStatus, RequestStatus, VolunteerStatus
from matcher.ports import Clock, Letters, Mailer, UnitOfWork
from matcher.scheduling import follow_ups_for, intro_time

PARTIES = ("team", "volunteer")


def delivery_key(match_id: str, party: str) -> str:
    return f"introduction:{match_id}:{party}"


def send_introductions(
    uow: UnitOfWork,
    mailer: Mailer,
    letters: Letters,
    match_id: str,
    clock: Clock,
    config: MatchingConfig,
    lease_seconds: int,
) -> int:
    """Send whichever introductions are still unsent; returns how many went now.

    Safe to run twice or concurrently: each email is claimed under its key
    before sending, and the claim is committed before the SMTP conversation.
    """
    with uow:
        match = uow.matches.get(match_id)
        if match is None or match.status not in MatchStatus.COMMITTED:
            return 0
        request = uow.requests.get(match.team_request_id)
        volunteer = uow.volunteers.get(match.volunteer_id)
        assert request is not None and volunteer is not None
        if request.status == RequestStatus.CLOSED or volunteer.status == VolunteerStatus.WITHDRAWN:
            return 0
        if match.intro_at is None:
            match.intro_at = intro_time(clock.now(), request, volunteer, config)
            uow.commit()

    sent = 0
    for party in PARTIES:
        key = delivery_key(match.id, party)
        if not uow.deliveries.claim(key, clock.now(), lease_seconds):
            continue  # sent already, or another worker holds a fresh claim
        email = letters.introduction(party, match, request, volunteer, key)
        mailer.send(email)
        uow.deliveries.mark_sent(key, email.message_id, clock.now())
        sent += 1
        with uow:
            uow.events.add(Event.of_match("email.sent", match, clock.now(), letter="introduction", to=party))
            uow.commit()

    if all(uow.deliveries.is_sent(delivery_key(match.id, p)) for p in PARTIES):
        _mark_introduced(uow, match_id, clock, config)
    return sent


def _mark_introduced(uow: UnitOfWork, match_id: str, clock: Clock, config: MatchingConfig) -> None:
    now = clock.now()
    with uow:
        match = uow.matches.get(match_id)
        if match is None or match.status != MatchStatus.APPROVED:
            return  # another run got here first
        match.introduce(now)
        uow.events.add(Event.of_match("match.introduced", match, now))
        for follow_up in follow_ups_for(match, config, now):
            uow.follow_ups.add(follow_up)
            uow.events.add(
                Event(
                    "follow_up.scheduled",
                    now,
                    match_id=match.id,
                    follow_up_id=follow_up.id,
                    data={"sequence": follow_up.sequence, "due_at": follow_up.due_at.isoformat()},
                )
            )
        uow.commit()


def stalled_introductions(uow: UnitOfWork, clock: Clock, lease_seconds: int) -> list[str]:
    """Approved matches whose introductions have not all gone out after a lease:
    a worker died, or a message was lost. The sweep sends them again.

    An email tried MAX_ATTEMPTS times is given up: the match's timeline says so
    (once), so the coordinator can reach the person another way.
    """
    now = clock.now()
    cutoff = now - timedelta(seconds=lease_seconds)
    with uow:
        waiting = [m for m in uow.matches.where(status=MatchStatus.APPROVED) if m.updated_at and m.updated_at < cutoff]
    again = []
    for match in waiting:
        failed = [p for p in PARTIES if uow.deliveries.exhausted(delivery_key(match.id, p))]
        if not failed:
            again.append(match.id)
            continue
        with uow:
            if not uow.events.count(match_id=match.id, kind="email.failed"):
                for party in failed:
                    uow.events.add(Event.of_match("email.failed", match, now, letter="introduction", to=party))
                uow.commit()
    return again
