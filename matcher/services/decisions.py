"""What coordinators decide: approve, reject, make a match of their own, or exclude a team
for a volunteer who asked in their own words."""

from __future__ import annotations

from datetime import datetime

from matcher.calls import CallReason, CallSubject
from matcher.config import MatchingConfig
from matcher.domain import (
    AuditAction,
    AuditSubject,
    Coordinator,
    Event,
    EventKind,
    IllegalMove,
    Match,
    MatchStatus,
    RequestStatus,
    TeamRequest,
    Volunteer,
    VolunteerStatus,
    WithdrawalReason,
)
from matcher.errors import Concurrent, Conflict, Invalid, NotFound
from matcher.ports import Clock, UnitOfWork
from matcher.rules import REASONS, clashes, screen
from matcher.scoring import score_pair
from matcher.services import audit, calls, introductions
from matcher.services.standing import standings
from matcher.services.suggestions import withdraw_suggestion
from matcher.services.visibility import sees_volunteer, visible_match, visible_request

# Rules a coordinator cannot override: they protect the volunteer's own choices.
NOT_OVERRIDABLE = {
    "not_active",
    "unconfirmed",  # nobody has shown the address is theirs: no introduction goes to it
    "no_consent",
    "team_excluded",
    "at_capacity",
    "already_matched",
    "time_clash",
}


def _commit_to(uow: UnitOfWork, match: Match, request: TeamRequest, coordinator: Coordinator, clock: Clock) -> None:
    """Checks that still hold at the moment of approval, then the approval itself."""
    now = clock.now()
    if request.status != RequestStatus.OPEN:
        raise Conflict(f"the request is {request.status}")
    # Locked after the request (always in that order): two approvals of one volunteer
    # on two requests are decided one after the other, against their capacity.
    volunteer = uow.volunteers.get(match.volunteer_id, for_update=True)
    if volunteer is not None and volunteer.unconfirmed:
        raise Conflict(f"the volunteer {REASONS['unconfirmed']}")
    if volunteer is None or volunteer.status != VolunteerStatus.ACTIVE:
        raise Conflict("the volunteer is not active")
    on_request = uow.matches.where(team_request_id=request.id)
    if request.open_places(on_request).get(match.role, 0) <= 0:
        raise Conflict(f"no place is open for the role {match.role}")
    standing = standings(uow, [volunteer])[volunteer.id]
    if standing.active_commitments >= volunteer.max_commitments:
        raise Conflict("the volunteer already holds as many commitments as they offered")
    if clashes(request, standing):
        # Rule 10 at the moment of approval: the suggestion may predate their other commitment.
        raise Conflict(f"the volunteer {REASONS['time_clash']}")

    match.approve(coordinator.id, now)
    uow.events.add(Event.of_match(EventKind.MATCH_APPROVED, match, now, by=coordinator.id, role=match.role))
    # Owed with the approval itself: a worker sends them, and the sweep finds them if it dies.
    introductions.owe_introductions(uow, match, now)
    if calls.prefers_phone(volunteer):
        # The introduction still goes by email; the coordinator also rings, as the volunteer asked:
        # a call on the call list, owed with the approval itself.
        calls.owe(
            uow,
            volunteer,
            CallReason.INTRODUCTION,
            CallSubject.MATCH,
            match.id,
            now,
            match_id=match.id,
            team_request_id=match.team_request_id,
        )
    still_open = request.open_places(uow.matches.where(team_request_id=request.id))
    if all(n <= 0 for n in still_open.values()):
        request.fill(now)
        uow.events.add(Event(EventKind.REQUEST_FILLED, now, team_request_id=request.id))
        # Every place is taken: the remaining suggestions could only be refused now.
        for leftover in uow.matches.where(team_request_id=request.id, status=MatchStatus.SUGGESTED):
            if leftover is not match:
                withdraw_suggestion(uow, leftover, WithdrawalReason.REQUEST_FILLED, now)


def approve(uow: UnitOfWork, match_id: str, coordinator: Coordinator, clock: Clock) -> Match:
    with uow:
        match, request = visible_match(uow, match_id, coordinator, for_update=True)
        if match.status in MatchStatus.COMMITTED:
            return match  # approving twice changes nothing
        if match.status != MatchStatus.SUGGESTED:
            # Refused before the request's and the volunteer's checks, which would mislead.
            raise IllegalMove(f"a {match.status} match cannot be approved")
        _commit_to(uow, match, request, coordinator, clock)
        audit.record(uow, coordinator, AuditAction.MATCH_APPROVED, AuditSubject.MATCH, match.id, clock)
        uow.commit()
        return match


def reject(uow: UnitOfWork, match_id: str, coordinator: Coordinator, reason: str, clock: Clock) -> Match:
    now = clock.now()
    with uow:
        match, request = visible_match(uow, match_id, coordinator, for_update=True)
        if match.status == MatchStatus.REJECTED:
            return match
        _turn_down(uow, match, coordinator, reason, now)
        # The reason is a coordinator's words about a person: on the match, not in the log.
        audit.record(uow, coordinator, AuditAction.MATCH_REJECTED, AuditSubject.MATCH, match.id, clock)
        uow.commit()
        return match


def _turn_down(uow: UnitOfWork, match: Match, coordinator: Coordinator, reason: str, now: datetime) -> None:
    match.reject(coordinator.id, reason, now)
    # The request is rescored on this event, so an alternate moves up.
    uow.events.add(Event.of_match(EventKind.MATCH_REJECTED, match, now, by=coordinator.id))


def exclude_team(uow: UnitOfWork, match_id: str, coordinator: Coordinator, clock: Clock) -> tuple[Volunteer, str]:
    """The volunteer's own words ("not ward 5 at the Royal London") made a rule, in one click.

    The suggestion's team joins the volunteer's excluded teams; the event rescores them,
    and the exclusion rule drops the suggestion. Doing it twice changes nothing.
    Returns the volunteer and the team's name.
    """
    now = clock.now()
    with uow:
        match, request = visible_match(uow, match_id, coordinator, for_update=True)
        if match.status != MatchStatus.SUGGESTED:
            raise Conflict(f"a {match.status} match is not a suggestion any more")
        volunteer = uow.volunteers.get(match.volunteer_id, for_update=True)
        if volunteer is None:
            raise NotFound("volunteer not found")
        team = request.team_name.strip()
        # Compared as the exclusion rule compares them: without case or outer spaces.
        if team.casefold() in {t.strip().casefold() for t in volunteer.excluded_teams}:
            return volunteer, team
        volunteer.excluded_teams = [*volunteer.excluded_teams, team]
        volunteer.updated_at = now
        uow.events.add(Event.of_match(EventKind.VOLUNTEER_TEAM_EXCLUDED, match, now, by=coordinator.id))
        audit.record(
            uow, coordinator, AuditAction.TEAM_EXCLUDED, AuditSubject.VOLUNTEER, volunteer.id, clock, match=match.id
        )
        uow.commit()
        return volunteer, team


def make_match(
    uow: UnitOfWork,
    request_id: str,
    volunteer_id: str,
    role: str,
    coordinator: Coordinator,
    config: MatchingConfig,
    clock: Clock,
    instead_of: str | None = None,
) -> Match:
    """A coordinator's own match: approved at once, with the rules it overrides on record.

    ``instead_of`` names a suggestion on the same request that this match replaces: it
    is turned down in the same transaction, so a refused match leaves it as it was.
    """
    for attempt in range(3):
        try:
            return _make_match(uow, request_id, volunteer_id, role, coordinator, config, clock, instead_of)
        except Concurrent:
            # A worker suggested this very pair a moment ago: read again, and take that suggestion.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _make_match(
    uow: UnitOfWork,
    request_id: str,
    volunteer_id: str,
    role: str,
    coordinator: Coordinator,
    config: MatchingConfig,
    clock: Clock,
    instead_of: str | None = None,
) -> Match:
    now = clock.now()
    with uow:
        request = visible_request(uow, request_id, coordinator, for_update=True)
        volunteer = uow.volunteers.get(volunteer_id)
        # Someone outside the coordinator's areas is reported as unknown: ids reveal nothing.
        if volunteer is None or not sees_volunteer(uow, coordinator, volunteer):
            raise Invalid({"volunteer_id": ["No such volunteer."]})
        if role not in request.role_codes:
            raise Invalid({"role": [f"The request does not ask for {role}."]})
        existing = uow.matches.where(team_request_id=request.id, volunteer_id=volunteer.id)
        suggestion = existing[0] if existing and existing[0].status == MatchStatus.SUGGESTED else None
        if existing and suggestion is None:
            raise Conflict("the volunteer already has a match on this request")
        standing = standings(uow, [volunteer], now)[volunteer.id]
        broken = screen(volunteer, request, role, standing, config)
        blocking = [code for code in broken if code in NOT_OVERRIDABLE]
        if blocking:
            raise Conflict("cannot match: the volunteer " + "; ".join(REASONS[c] for c in blocking))
        scored = score_pair(volunteer, request, role, standing, config)
        match = suggestion or Match(
            team_request_id=request.id,
            volunteer_id=volunteer.id,
            role=role,
            score=scored.score,
            factors=scored.factors,
            created_at=now,
            updated_at=now,
        )
        match.role, match.score, match.factors = role, scored.score, scored.factors
        match.origin, match.proposed = "coordinator", True
        if suggestion is None:
            uow.matches.add(match)
        uow.events.add(
            Event.of_match(EventKind.MATCH_CREATED, match, now, by=coordinator.id, role=role, overrides=broken)
        )
        replaced = uow.matches.get(instead_of) if instead_of else None
        if (
            replaced is not None
            and replaced.team_request_id == request.id
            and replaced.status == MatchStatus.SUGGESTED
            and replaced is not match
        ):
            _turn_down(uow, replaced, coordinator, "The coordinator matched someone else instead.", now)
            audit.record(
                uow, coordinator, AuditAction.MATCH_REJECTED, AuditSubject.MATCH, replaced.id, clock, instead=True
            )
        _commit_to(uow, match, request, coordinator, clock)
        audit.record(
            uow, coordinator, AuditAction.MATCH_MADE, AuditSubject.MATCH, match.id, clock, overrides=sorted(broken)
        )
        uow.commit()
        return match
