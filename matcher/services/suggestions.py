"""Scoring requests against offers and keeping each request's suggestions current."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from matcher.config import MatchingConfig
from matcher.domain import (
    Event,
    EventKind,
    Match,
    MatchStatus,
    RequestStatus,
    TeamRequest,
    VolunteerStatus,
    WithdrawalReason,
)
from matcher.engine.incremental import requests_for_kept, requests_for_offer
from matcher.engine.pipeline import propose_all, propose_encoded
from matcher.errors import NotFound
from matcher.ports import Clock, UnitOfWork
from matcher.proposals import Candidate, Proposal
from matcher.rules import screen
from matcher.services.population import KeptVolunteers
from matcher.services.standing import standings


def withdraw_suggestion(uow: UnitOfWork, match: Match, reason: str, now: datetime, rules: Sequence[str] = ()) -> None:
    """Inside a unit of work: take back a suggestion nobody acted on, saying why on the timeline.

    The match row goes (it was only a draft); the event stays on the request's and the
    volunteer's timelines, with codes only (``WithdrawalReason``, and the rule codes).
    """
    match.withdraw_suggestion()
    data: dict[str, Any] = {"reason": reason, "role": match.role}
    if rules:
        data["rules"] = list(rules)
    uow.events.add(Event.of_match(EventKind.MATCH_SUGGESTION_WITHDRAWN, match, now, **data))
    uow.matches.delete(match)


def _why_dropped(
    uow: UnitOfWork,
    request: TeamRequest,
    match: Match,
    candidates: dict[str, Candidate],
    still_open: dict[str, int],
    config: MatchingConfig,
) -> tuple[str, list[str]]:
    """Why a rescore no longer proposes this suggestion: a reason code and any rules now broken."""
    if request.status == RequestStatus.FILLED:
        return WithdrawalReason.REQUEST_FILLED, []
    if request.status == RequestStatus.CLOSED:
        return WithdrawalReason.REQUEST_CLOSED, []
    if still_open.get(match.role, 0) <= 0:
        return WithdrawalReason.ROLE_FILLED, []
    candidate = candidates.get(match.volunteer_id)
    if candidate is None:  # only active volunteers are candidates
        volunteer = uow.volunteers.get(match.volunteer_id)
        if volunteer is not None and volunteer.status == VolunteerStatus.PAUSED:
            return WithdrawalReason.VOLUNTEER_PAUSED, []
        return WithdrawalReason.VOLUNTEER_WITHDREW, []
    broken = screen(candidate.volunteer, request, match.role, candidate.standing, config)
    if broken:
        return WithdrawalReason.NO_LONGER_ELIGIBLE, broken
    # Eligible still: others fit the open places better, or the volunteer's remaining
    # capacity went to their proposals on other requests.
    return WithdrawalReason.BETTER_CANDIDATES, []


def suggest_for_request(
    uow: UnitOfWork, request_id: str, config: MatchingConfig, clock: Clock, population: KeptVolunteers | None = None
) -> int:
    """Recompute one request's suggestions; returns how many it now has."""
    return suggest_for_requests(uow, [request_id], config, clock, population)


def suggest_for_requests(
    uow: UnitOfWork,
    request_ids: Sequence[str],
    config: MatchingConfig,
    clock: Clock,
    population: KeptVolunteers | None = None,
) -> int:
    """Recompute these requests' suggestions together, in one run of the engine.

    Volunteers' capacity already promised to proposals on other requests is held
    back, so an incremental rescore never over-promises anyone. With ``population``
    (a worker's kept volunteers) only the volunteers changed since its last use are
    read; without it, every active volunteer is read and encoded (the reference the
    kept path is tested against).
    """
    now = clock.now()
    with uow:
        # The same row locks an approval takes: a rescore never deletes or rewrites a
        # suggestion that a coordinator is approving at this moment.
        requests = uow.requests.where(id=list(request_ids), order_by="id", for_update=True)
        if not requests:
            raise NotFound("team request not found")
        proposals = _resolve(uow, requests, config, now, population)[1]
        uow.commit()
        return sum(len(p) for p in proposals.values())


def _resolve(
    uow: UnitOfWork,
    requests: list[TeamRequest],
    config: MatchingConfig,
    now: datetime,
    population: KeptVolunteers | None = None,
) -> tuple[dict[str, dict[str, int]], dict[str, list[Proposal]]]:
    """Score and assign the open ones among ``requests``; store every request's suggestions."""
    ids = {r.id for r in requests}
    by_request: dict[str, list[Match]] = defaultdict(list)
    for m in uow.matches.where(team_request_id=list(ids)):
        by_request[m.team_request_id].append(m)
    open_requests = [r for r in requests if r.status == RequestStatus.OPEN]
    counts = {r.id: r.open_places(by_request[r.id]) for r in open_requests}
    proposals: dict[str, list[Proposal]] = {}
    candidates: dict[str, Candidate] = {}
    if open_requests and population is not None:
        kept = population.current(uow, config)
        held = uow.matching_reads.held_elsewhere(ids)
        proposals = propose_encoded(kept.pairing(open_requests, counts, now, held), config)
        # Only the volunteers whose suggestions go are read whole, to say why they went.
        dropped: set[str] = set()
        for r in requests:
            again = {p.volunteer_id for p in proposals.get(r.id, [])}
            dropped |= {m.volunteer_id for m in by_request[r.id] if m.status == MatchStatus.SUGGESTED} - again
        candidates = _candidates(uow, dropped, now)
    elif open_requests:
        volunteers = uow.volunteers.where(status=VolunteerStatus.ACTIVE)
        standing = standings(uow, volunteers, now)
        reserved = Counter(
            m.volunteer_id
            for m in uow.matches.where(status=MatchStatus.SUGGESTED, proposed=True)
            if m.team_request_id not in ids
        )
        candidates = {v.id: Candidate(v, standing[v.id], reserved_elsewhere=reserved[v.id]) for v in volunteers}
        proposals = propose_all(open_requests, list(candidates.values()), counts, config)
    for request in requests:
        current = {m.volunteer_id: m for m in by_request[request.id] if m.status == MatchStatus.SUGGESTED}
        _store(uow, request, current, proposals.get(request.id, []), now)
        for stale in current.values():  # what _store left: no longer proposed
            reason, rules = _why_dropped(uow, request, stale, candidates, counts.get(request.id, {}), config)
            withdraw_suggestion(uow, stale, reason, now, rules)
    return counts, proposals


def _candidates(uow: UnitOfWork, volunteer_ids: set[str], now: datetime) -> dict[str, Candidate]:
    """These volunteers as candidates, if they are active (as a full rescore would have them)."""
    if not volunteer_ids:
        return {}
    volunteers = uow.volunteers.where(id=sorted(volunteer_ids), status=VolunteerStatus.ACTIVE)
    standing = standings(uow, volunteers, now)
    return {v.id: Candidate(v, standing[v.id]) for v in volunteers}


def _store(
    uow: UnitOfWork, request: TeamRequest, current: dict[str, Match], proposals: list[Proposal], now: datetime
) -> None:
    """Make the request's suggestions these proposals: update and add.

    ``current`` maps volunteer id to the request's present suggestions; a
    suggestion that stays keeps its id, so a coordinator's open page stays valid.
    Each one proposed again is taken out of ``current``: what is left there is to drop.
    """
    for p in proposals:
        match = current.pop(p.volunteer_id, None)
        if match is None:
            match = Match(
                team_request_id=request.id,
                volunteer_id=p.volunteer_id,
                role=p.role,
                score=p.score,
                factors=p.factors,
                created_at=now,
                updated_at=now,
            )
            uow.matches.add(match)
            uow.events.add(Event.of_match(EventKind.MATCH_SUGGESTED, match, now, role=p.role, score=p.score))
        match.role, match.score, match.factors = p.role, p.score, p.factors
        match.proposed, match.rank, match.updated_at = p.proposed, p.rank, now


def requests_touching(
    uow: UnitOfWork, volunteer_id: str, config: MatchingConfig, population: KeptVolunteers | None = None
) -> list[str]:
    """Open requests a changed offer could serve, and those where it is suggested now."""
    with uow:
        if uow.volunteers.get(volunteer_id) is None:
            raise NotFound("volunteer not found")
        return sorted(touched_by(uow, [volunteer_id], config, population))


def touched_by(
    uow: UnitOfWork, volunteer_ids: Sequence[str], config: MatchingConfig, population: KeptVolunteers | None = None
) -> set[str]:
    """Inside a unit of work: every open request these volunteers' offers could serve, and
    every request where one of them is suggested now (a rescore may drop them there).

    With ``population``, their kept columns are scored against the open requests
    (``engine.incremental.requests_for_kept``); nobody is read whole.
    """
    if population is not None:
        if not volunteer_ids:
            return set()
        kept = population.current(uow, config)
        touched = {
            m.team_request_id for m in uow.matches.where(volunteer_id=list(volunteer_ids), status=MatchStatus.SUGGESTED)
        }
        return touched | requests_for_kept(kept, uow.requests.where(status=RequestStatus.OPEN), volunteer_ids)
    volunteers = uow.volunteers.where(id=list(volunteer_ids), order_by="id") if volunteer_ids else []
    if not volunteers:
        return set()
    touched = {
        m.team_request_id
        for m in uow.matches.where(volunteer_id=[v.id for v in volunteers], status=MatchStatus.SUGGESTED)
    }
    standing = standings(uow, volunteers)
    # One column of the engine's grid per volunteer against every open request (engine.incremental).
    open_requests = uow.requests.where(status=RequestStatus.OPEN)
    for volunteer in volunteers:
        touched.update(requests_for_offer(open_requests, Candidate(volunteer, standing[volunteer.id]), config))
    return touched


def rescore_within(
    uow: UnitOfWork,
    request_ids: set[str],
    config: MatchingConfig,
    now: datetime,
    population: KeptVolunteers | None = None,
) -> int:
    """Inside a unit of work: rescore these requests together, in one engine run; returns
    how many requests were rescored. Takes the same request row locks as an approval."""
    if not request_ids:
        return 0
    requests = uow.requests.where(id=sorted(request_ids), order_by="id", for_update=True)
    if requests:
        _resolve(uow, requests, config, now, population)
    return len(requests)


def rescore_for_volunteer(
    uow: UnitOfWork, volunteer_id: str, config: MatchingConfig, clock: Clock, population: KeptVolunteers | None = None
) -> int:
    touched = requests_touching(uow, volunteer_id, config, population)
    if touched:
        suggest_for_requests(uow, touched, config, clock, population)
    return len(touched)


def rescore_for_volunteers(
    uow: UnitOfWork,
    volunteer_ids: Sequence[str],
    config: MatchingConfig,
    clock: Clock,
    population: KeptVolunteers | None = None,
) -> int:
    """Every request these volunteers' changes touch, rescored together in one engine run and
    one transaction; returns how many requests were rescored."""
    with uow:
        touched = touched_by(uow, volunteer_ids, config, population)
        rescored = rescore_within(uow, touched, config, clock.now(), population)
        uow.commit()
    return rescored


def propose_assignment(
    uow: UnitOfWork, config: MatchingConfig, clock: Clock, population: KeptVolunteers | None = None
) -> dict[str, int]:
    """One assignment across every open request at once (the engine's exact solve),
    replacing each request's suggestions; returns places requested and proposed."""
    with uow:
        requests = uow.requests.where(status=RequestStatus.OPEN, order_by="id", for_update=True)
        counts, proposals = _resolve(uow, requests, config, clock.now(), population)
        uow.commit()
    return {
        "requests": len(requests),
        "places_open": sum(max(n, 0) for c in counts.values() for n in c.values()),
        "places_proposed": sum(p.proposed for ps in proposals.values() for p in ps),
    }
