"""How involvement ends: a match closed, a request closed, places given back.

A commitment holds a place on a request and a slice of the volunteer's
capacity until it is closed; closing gives both back, cancels the chats still
to come, and reopens a filled request so its place is offered again.
"""

from __future__ import annotations

from datetime import datetime

from matcher.domain import (
    AuditAction,
    AuditSubject,
    Coordinator,
    Event,
    EventKind,
    FollowUpStatus,
    IllegalMove,
    Match,
    MatchStatus,
    RequestStatus,
    TeamRequest,
    WithdrawalReason,
)
from matcher.ports import Clock, UnitOfWork
from matcher.services import audit, follow_ups, meetings
from matcher.services.suggestions import withdraw_suggestion
from matcher.services.visibility import visible_match, visible_request

# Why a match closed, as the event records it: the workflow's codes, or "by a coordinator".
CLOSED_BY_CODE = ("request_closed", "volunteer_withdrew")
BY_COORDINATOR = "by_coordinator"


def end_commitment(uow: UnitOfWork, match: Match, reason: str, now: datetime, reopen: bool = True) -> None:
    """Inside a unit of work: close one approved or introduced match."""
    # Before the status changes: whether the chat is in anyone's calendar depends on it.
    meetings.cancel_invitation(uow, match, now)
    # The event holds a code; a coordinator's own words stay on the match (erasure clears them).
    code = reason if reason in CLOSED_BY_CODE else BY_COORDINATOR
    match.close(now, note=None if code != BY_COORDINATOR else reason)
    uow.events.add(Event.of_match(EventKind.MATCH_CLOSED, match, now, reason=code))
    for follow_up in uow.follow_ups.where(match_id=match.id, status=list(FollowUpStatus.TO_COME)):
        if follow_up.due_at > now:  # a chat already held is not cancelled after the fact
            follow_ups.cancel(uow, follow_up, now)
    request = uow.requests.get(match.team_request_id, for_update=True)
    if not reopen or request is None or request.status != RequestStatus.FILLED:
        return
    if any(n > 0 for n in request.open_places(uow.matches.where(team_request_id=request.id)).values()):
        request.reopen(now)
        # Rescored on this event: the place is offered to someone else.
        uow.events.add(Event(EventKind.REQUEST_REOPENED, now, team_request_id=request.id))


def close_match(uow: UnitOfWork, match_id: str, coordinator: Coordinator, reason: str, clock: Clock) -> Match:
    """A coordinator ends an involvement (it finished, or it did not work out)."""
    with uow:
        match, _ = visible_match(uow, match_id, coordinator, for_update=True)
        if match.status == MatchStatus.CLOSED:
            return match
        if match.status not in MatchStatus.COMMITTED:
            # Refused before end_commitment touches the calendars.
            raise IllegalMove(f"a {match.status} match cannot be closed")
        end_commitment(uow, match, reason, clock.now())
        # The code only: a coordinator's own words stay on the match, which erasure clears.
        code = reason if reason in CLOSED_BY_CODE else BY_COORDINATOR
        audit.record(uow, coordinator, AuditAction.MATCH_CLOSED, AuditSubject.MATCH, match.id, clock, reason=code)
        uow.commit()
        return match


def close_request(uow: UnitOfWork, request_id: str, coordinator: Coordinator, clock: Clock) -> TeamRequest:
    """The team's project no longer needs anyone: nothing more is suggested or sent."""
    now = clock.now()
    with uow:
        request = visible_request(uow, request_id, coordinator, for_update=True)
        if request.status == RequestStatus.CLOSED:
            return request
        request.close(now)
        for match in uow.matches.where(team_request_id=request.id, status=MatchStatus.SUGGESTED):
            withdraw_suggestion(uow, match, WithdrawalReason.REQUEST_CLOSED, now)
        for match in uow.matches.where(team_request_id=request.id, status=list(MatchStatus.COMMITTED)):
            end_commitment(uow, match, "request_closed", now, reopen=False)
        uow.events.add(Event(EventKind.REQUEST_CLOSED, now, team_request_id=request.id))
        audit.record(uow, coordinator, AuditAction.REQUEST_CLOSED, AuditSubject.REQUEST, request.id, clock)
        uow.commit()
    return request
