"""Follow-up chats: rows with a due time, claimed by a periodic dispatcher.

Nothing days ahead waits in the broker: the dispatcher runs every minute,
moves each due row on by a conditional state change in the same transaction as
the emails it owes, and the worker sending each re-checks that the chat is still wanted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from matcher.config import MatchingConfig
from matcher.domain import (
    Event,
    EventKind,
    FollowUp,
    FollowUpStatus,
    Match,
    MatchStatus,
    RequestStatus,
    VolunteerStatus,
)
from matcher.ports import Clock, Email, Letters, Mailer, UnitOfWork
from matcher.services import deliveries, texts

INVITATION, REMINDER, CANCELLATION = "invitation", "reminder", "cancellation"
PARTIES = ("team", "volunteer")


def delivery_key(follow_up_id: str, stage: str, party: str) -> str:
    return deliveries.key("follow_up", follow_up_id, stage, party)


def _still_wanted(uow: UnitOfWork, follow_up: FollowUp) -> bool:
    match = uow.matches.get(follow_up.match_id)
    if match is None or match.status != MatchStatus.INTRODUCED:
        return False
    request = uow.requests.get(match.team_request_id)
    volunteer = uow.volunteers.get(match.volunteer_id)
    return (
        request is not None
        and request.status != RequestStatus.CLOSED
        and volunteer is not None
        and volunteer.status != VolunteerStatus.WITHDRAWN
    )


# Feedback asks the same question once a chat's time has passed.
still_wanted = _still_wanted


def dispatch_due(uow: UnitOfWork, clock: Clock, config: MatchingConfig) -> dict[str, int]:
    """Move every due follow-up on one step, or cancel it if it is no longer wanted."""
    now = clock.now()
    counts = {INVITATION: 0, REMINDER: 0, "cancelled": 0}
    with uow:
        due = [
            (f, INVITATION)
            # Locked rows: an overlapping run waits, then no longer finds them scheduled.
            for f in uow.follow_ups.where(status=FollowUpStatus.SCHEDULED, order_by="due_at", for_update=True)
            if f.due_at - timedelta(days=config.invite_lead_days) <= now
        ] + [
            (f, REMINDER)
            for f in uow.follow_ups.where(status=FollowUpStatus.INVITED, order_by="due_at", for_update=True)
            if f.due_at - timedelta(hours=config.reminder_lead_hours) <= now < f.due_at
        ]
        for follow_up, stage in due:
            if not _still_wanted(uow, follow_up):
                follow_up.cancel()
                uow.events.add(
                    Event(EventKind.FOLLOW_UP_CANCELLED, now, match_id=follow_up.match_id, follow_up_id=follow_up.id)
                )
                counts["cancelled"] += 1
                continue
            if stage == INVITATION:
                follow_up.invite(now)
            else:
                follow_up.remind(now)
            for party in PARTIES:
                deliveries.owe(uow, delivery_key(follow_up.id, stage, party), now)
            if stage == REMINDER:  # and by text, to a volunteer who prefers the phone
                match = uow.matches.get(follow_up.match_id)
                volunteer = uow.volunteers.get(match.volunteer_id) if match else None
                texts.owe_alongside(uow, delivery_key(follow_up.id, stage, "volunteer"), volunteer, now)
            uow.events.add(
                Event(
                    EventKind.FOLLOW_UP_INVITATION_DUE if stage == INVITATION else EventKind.FOLLOW_UP_REMINDER_DUE,
                    now,
                    match_id=follow_up.match_id,
                    follow_up_id=follow_up.id,
                    data={"sequence": follow_up.sequence},
                )
            )
            counts[stage] += 1
        uow.commit()
    return counts


def send_follow_up_letter(
    uow: UnitOfWork,
    mailer: Mailer,
    letters: Letters,
    follow_up_id: str,
    stage: str,
    party: str,
    clock: Clock,
    lease_seconds: int,
) -> int:
    """One party's invitation or reminder, if still owed and the chat still wanted; 1 if it went now."""
    key = delivery_key(follow_up_id, stage, party)
    found: list[tuple[FollowUp, Match]] = []

    def compose() -> Email | None:
        with uow:
            follow_up = uow.follow_ups.get(follow_up_id)
            if follow_up is None:
                return None
            if stage == CANCELLATION:
                return _cancellation(follow_up)
            if follow_up.status == FollowUpStatus.CANCELLED:
                return None
            if not _still_wanted(uow, follow_up):
                # Ended since it was dispatched: cancel it, so nothing more is owed for it.
                follow_up.cancel()
                uow.events.add(
                    Event(
                        EventKind.FOLLOW_UP_CANCELLED,
                        clock.now(),
                        match_id=follow_up.match_id,
                        follow_up_id=follow_up.id,
                    )
                )
                uow.commit()
                return None
            match = uow.matches.get(follow_up.match_id)
            assert match is not None
            request = uow.requests.get(match.team_request_id)
            volunteer = uow.volunteers.get(match.volunteer_id)
            assert request is not None and volunteer is not None
        found.append((follow_up, match))
        return letters.follow_up(stage, party, follow_up, match, request, volunteer, key)

    def _cancellation(follow_up: FollowUp) -> Email | None:
        # Inside compose's unit of work: the chat is off, so it is not "still wanted" by design.
        match = uow.matches.get(follow_up.match_id)
        assert match is not None
        request = uow.requests.get(match.team_request_id)
        volunteer = uow.volunteers.get(match.volunteer_id)
        assert request is not None and volunteer is not None
        if party == "volunteer" and volunteer.erased:
            return None  # erased: no address left to write to
        found.append((follow_up, match))
        return letters.follow_up(stage, party, follow_up, match, request, volunteer, key)

    def sent(at: datetime) -> Event:
        follow_up, match = found[0]
        return Event(
            EventKind.EMAIL_SENT,
            at,
            match_id=match.id,
            follow_up_id=follow_up.id,
            data={"letter": f"follow_up_{stage}", "to": party, "sequence": follow_up.sequence},
        )

    return int(deliveries.deliver(uow, mailer, key, compose, clock, lease_seconds, sent))


def cancel(uow: UnitOfWork, follow_up: FollowUp, now: datetime) -> None:
    """Inside a unit of work, as an involvement ends: a chat still to come will not happen.

    One whose invitation went out is taken out of both calendars too.
    """
    invited = follow_up.status in (FollowUpStatus.INVITED, FollowUpStatus.REMINDED)
    follow_up.cancel()
    uow.events.add(Event(EventKind.FOLLOW_UP_CANCELLED, now, match_id=follow_up.match_id, follow_up_id=follow_up.id))
    if invited:
        for party in PARTIES:
            deliveries.owe(uow, delivery_key(follow_up.id, CANCELLATION, party), now)


def send_follow_up(
    uow: UnitOfWork,
    mailer: Mailer,
    letters: Letters,
    follow_up_id: str,
    stage: str,
    clock: Clock,
    lease_seconds: int,
) -> int:
    """Both parties' emails for one stage; returns how many went now."""
    return sum(
        send_follow_up_letter(uow, mailer, letters, follow_up_id, stage, party, clock, lease_seconds)
        for party in PARTIES
    )
