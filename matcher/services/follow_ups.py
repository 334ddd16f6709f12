"""Follow-up chats: rows with a due time, claimed by a periodic dispatcher.

Nothing days ahead waits in the broker: the dispatcher runs every minute,
moves each due row on by a conditional state change in the same transaction as
its outbox event, and the send task re-checks that the chat is still wanted.
"""

from __future__ import annotations

from datetime import timedelta

from matcher.config import MatchingConfig
from matcher.domain import (
    Event,
    FollowUp,
    FollowUpStatus,
    MatchStatus,
    RequestStatus,
    VolunteerStatus,
)
from matcher.ports import Clock, Letters, Mailer, UnitOfWork

INVITATION, REMINDER = "invitation", "reminder"
PARTIES = ("team", "volunteer")


def delivery_key(follow_up_id: str, stage: str, party: str) -> str:
    return f"follow_up:{follow_up_id}:{stage}:{party}"


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
                    Event("follow_up.cancelled", now, match_id=follow_up.match_id, follow_up_id=follow_up.id)
                )
                counts["cancelled"] += 1
                continue
            if stage == INVITATION:
                follow_up.invite(now)
            else:
                follow_up.remind(now)
            uow.events.add(
                Event(
                    f"follow_up.{stage}_due",
                    now,
                    match_id=follow_up.match_id,
                    follow_up_id=follow_up.id,
                    data={"sequence": follow_up.sequence},
                )
            )
            counts[stage] += 1
        uow.commit()
    return counts


def send_follow_up(
    uow: UnitOfWork,
    mailer: Mailer,
    letters: Letters,
    follow_up_id: str,
    stage: str,
    clock: Clock,
    lease_seconds: int,
) -> int:
    with uow:
        follow_up = uow.follow_ups.get(follow_up_id)
        if follow_up is None or follow_up.status == FollowUpStatus.CANCELLED:
            return 0
        if not _still_wanted(uow, follow_up):
            # Ended since it was dispatched: cancel it, so the sweep stops asking.
            follow_up.cancel()
            uow.events.add(
                Event("follow_up.cancelled", clock.now(), match_id=follow_up.match_id, follow_up_id=follow_up.id)
            )
            uow.commit()
            return 0
        match = uow.matches.get(follow_up.match_id)
        assert match is not None
        request = uow.requests.get(match.team_request_id)
        volunteer = uow.volunteers.get(match.volunteer_id)
        assert request is not None and volunteer is not None

    sent = 0
    for party in PARTIES:
        key = delivery_key(follow_up.id, stage, party)
        if not uow.deliveries.claim(key, clock.now(), lease_seconds):
            continue
        email = letters.follow_up(stage, party, follow_up, match, request, volunteer, key)
        mailer.send(email)
        uow.deliveries.mark_sent(key, email.message_id, clock.now())
        sent += 1
        with uow:
            uow.events.add(
                Event(
                    "email.sent",
                    clock.now(),
                    match_id=match.id,
                    follow_up_id=follow_up.id,
                    data={"letter": f"follow_up_{stage}", "to": party, "sequence": follow_up.sequence},
                )
            )
            uow.commit()
    return sent


def stalled_follow_ups(uow: UnitOfWork, clock: Clock, lease_seconds: int) -> list[tuple[str, str]]:
    """Dispatched follow-ups whose emails have not all gone out after a lease."""
    cutoff = clock.now() - timedelta(seconds=lease_seconds)
    stalled = []
    with uow:
        for f in uow.follow_ups.where(status=[FollowUpStatus.INVITED, FollowUpStatus.REMINDED]):
            stage, at = (INVITATION, f.invited_at) if f.status == FollowUpStatus.INVITED else (REMINDER, f.reminded_at)
            if at is not None and at < cutoff:
                stalled.append((f.id, stage))
    return [
        (fid, stage)
        for fid, stage in stalled
        if not all(uow.deliveries.is_sent(delivery_key(fid, stage, p)) for p in PARTIES)
        # Given up after MAX_ATTEMPTS: not re-queued every minute for ever.
        and not any(uow.deliveries.exhausted(delivery_key(fid, stage, p)) for p in PARTIES)
    ]
