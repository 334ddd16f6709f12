"""How involvement ends: a match closed, a request closed, places given back.

A commitment holds a place on a request and a slice of the volunteer's
capacity until it is closed; closing gives both back, cancels the chats still
to come, and reopens a filled request so its place is offered again.
"""

from __future__ import annotations

from datetime import datetime

from matcher.domain import (
    Coordinator,
    Event,
    FollowUpStatus,
    Match,
    MatchStatus,
    RequestStatus,
    TeamRequest,
)
from matcher.ports import Clock, UnitOfWork
from matcher.services.visibility import visible_match, visible_request


def end_commitment(uow: UnitOfWork, match: Match, reason: str, now: datetime, reopen: bool = True) -> None:
    """Inside a unit of work: close one approved or introduced match."""
    match.close(now)
    uow.events.add(Event.of_match("match.closed", match, now, reason=reason))
    for follow_up in uow.follow_ups.where(match_id=match.id, status=[FollowUpStatus.SCHEDULED, FollowUpStatus.INVITED]):
        follow_up.cancel()
        uow.events.add(Event("follow_up.cancelled", now, match_id=match.id, follow_up_id=follow_up.id))
    request = uow.requests.get(match.team_request_id, for_update=True)
    if not reopen or request is None or request.status != RequestStatus.FILLED:
        return
    if any(n > 0 for n in request.open_places(uow.matches.where(team_request_id=request.id)).values()):
        request.reopen(now)
        # Rescored on this event: the place is offered to someone else.
        uow.events.add(Event("request.reopened", now, team_request_id=request.id))


def close_match(uow: UnitOfWork, match_id: str, coordinator: Coordinator, reason: str, clock: Clock) -> Match:
    """A coordinator ends an involvement (it finished, or it did not work out)."""
    with uow:
        match, _ = visible_match(uow, match_id, coordinator, for_update=True)
        if match.status == MatchStatus.CLOSED:
            return match
        end_commitment(uow, match, reason, clock.now())
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
            uow.matches.delete(match)
        for match in uow.matches.where(team_request_id=request.id, status=list(MatchStatus.COMMITTED)):
            end_commitment(uow, match, "request_closed", now, reopen=False)
        uow.events.add(Event("request.closed", now, team_request_id=request.id))
        uow.commit()
    return request
