"""What a coordinator's pages show: suggestions grouped by request, who was left
out and why, lists with filters, and the follow-up calendar. Each answer is
limited to the areas the coordinator looks after."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from matcher.config import MatchingConfig
from matcher.domain import (
    Coordinator,
    FollowUp,
    FollowUpStatus,
    Match,
    MatchStatus,
    RequestStatus,
    TeamRequest,
    Volunteer,
    VolunteerStatus,
)
from matcher.ports import UnitOfWork
from matcher.rules import REASONS, Standing, screen
from matcher.services.suggestions import open_counts, standings


@dataclass
class LeftOut:
    volunteer: Volunteer
    reasons: list[str]  # rule codes, for the roles where they came closest


@dataclass
class RequestSuggestions:
    request: TeamRequest
    proposed: list[tuple[Match, Volunteer]]
    alternates: list[tuple[Match, Volunteer]]
    open_places: dict[str, int]
    left_out_counts: list[tuple[str, int]] = field(default_factory=list)  # (reason text, how many)
    left_out: list[LeftOut] = field(default_factory=list)


def _left_out(
    request: TeamRequest,
    people: list[Volunteer],
    suggested: set[str],
    standing: dict[str, Standing],
    config: MatchingConfig,
) -> list[LeftOut]:
    out = []
    for v in people:
        if v.id in suggested:
            continue
        per_role = [screen(v, request, role, standing.get(v.id, Standing()), config) for role in request.role_codes]
        if per_role and all(per_role):
            # The role they came closest to: the fewest rules in the way.
            out.append(LeftOut(v, min(per_role, key=len)))
    return out


def suggestions_by_request(
    uow: UnitOfWork, coordinator: Coordinator, config: MatchingConfig, request_id: str | None = None
) -> list[RequestSuggestions]:
    with uow:
        if request_id is None:
            requests = uow.requests.where(area=list(coordinator.areas), status=RequestStatus.OPEN)
        else:
            found = uow.requests.get(request_id)
            requests = [found] if found is not None and coordinator.covers(found.area) else []
        if not requests:
            return []
        matches = uow.matches.where(team_request_id=[r.id for r in requests])
        people = {v.id: v for v in uow.volunteers.where(status=[VolunteerStatus.ACTIVE, VolunteerStatus.PAUSED])}
        missing = {m.volunteer_id for m in matches} - set(people)
        people.update({v.id: v for v in uow.volunteers.where(id=list(missing))})
        standing = standings(uow)
    groups = []
    for request in requests:
        on_request = [m for m in matches if m.team_request_id == request.id]
        suggested = sorted(
            (m for m in on_request if m.status == MatchStatus.SUGGESTED), key=lambda m: (m.rank, -m.score)
        )
        if request_id is None and not suggested:
            continue
        group = RequestSuggestions(
            request,
            [(m, people[m.volunteer_id]) for m in suggested if m.proposed],
            [(m, people[m.volunteer_id]) for m in suggested if not m.proposed],
            open_counts(request, on_request),
        )
        candidates = [
            v for v in people.values() if v.status != VolunteerStatus.WITHDRAWN and coordinator.can_see(v)
        ]
        involved = {m.volunteer_id for m in on_request}
        left = _left_out(request, candidates, involved, standing, config)
        counts = Counter(code for lo in left for code in lo.reasons)
        group.left_out_counts = [(REASONS[code], n) for code, n in counts.most_common()]
        group.left_out = sorted(left, key=lambda lo: (len(lo.reasons), lo.volunteer.name))
        groups.append(group)
    groups.sort(key=lambda g: g.request.created_at or datetime.min)
    return groups


def _keep(items: list[Any], page: int, per_page: int) -> tuple[list[Any], int]:
    start = (page - 1) * per_page
    return items[start : start + per_page], len(items)


def find_requests(
    uow: UnitOfWork,
    coordinator: Coordinator,
    area: str | None = None,
    status: str | None = None,
    role: str | None = None,
    text: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[TeamRequest], int]:
    areas = [area] if area and coordinator.covers(area) else list(coordinator.areas)
    criteria: dict[str, Any] = {"area": areas}
    if status:
        criteria["status"] = status
    with uow:
        found = uow.requests.where(**criteria)
    if role:
        found = [r for r in found if role in r.role_codes]
    if text:
        needle = text.casefold()
        found = [r for r in found if needle in f"{r.team_name} {r.project_title}".casefold()]
    found.sort(key=lambda r: r.created_at or datetime.min, reverse=True)
    return _keep(found, page, per_page)


def find_volunteers(
    uow: UnitOfWork,
    coordinator: Coordinator,
    area: str | None = None,
    status: str | None = None,
    role: str | None = None,
    text: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Volunteer], int]:
    areas = {area} if area and coordinator.covers(area) else set(coordinator.areas)
    criteria: dict[str, Any] = {"status": status} if status else {}
    with uow:
        found = [v for v in uow.volunteers.where(**criteria) if v.reachable_areas & areas]
    if role:
        found = [v for v in found if role in v.roles]
    if text:
        needle = text.casefold()
        found = [v for v in found if needle in f"{v.name} {v.email}".casefold()]
    found.sort(key=lambda v: v.name.casefold())
    return _keep(found, page, per_page)


@dataclass
class CalendarEntry:
    at: datetime
    what: str
    match: Match
    request: TeamRequest
    volunteer: Volunteer
    follow_up: FollowUp | None = None


def calendar(
    uow: UnitOfWork, coordinator: Coordinator, since: datetime, area: str | None = None
) -> list[CalendarEntry]:
    """Introductory and follow-up chats from ``since`` on, soonest first."""
    areas = [area] if area and coordinator.covers(area) else list(coordinator.areas)
    with uow:
        requests = {r.id: r for r in uow.requests.where(area=areas)}
        matches = {m.id: m for m in uow.matches.where(team_request_id=list(requests), status=[*MatchStatus.COMMITTED])}
        people = {v.id: v for v in uow.volunteers.where(id=[m.volunteer_id for m in matches.values()])}
        chats = uow.follow_ups.where(match_id=list(matches), order_by="due_at")
    entries = [
        CalendarEntry(m.intro_at, "Introductory chat", m, requests[m.team_request_id], people[m.volunteer_id])
        for m in matches.values()
        if m.intro_at is not None and m.intro_at >= since
    ]
    entries += [
        CalendarEntry(
            f.due_at,
            f"Follow-up chat {f.sequence}",
            matches[f.match_id],
            requests[matches[f.match_id].team_request_id],
            people[matches[f.match_id].volunteer_id],
            f,
        )
        for f in chats
        if f.due_at >= since and f.status != FollowUpStatus.CANCELLED
    ]
    entries.sort(key=lambda e: e.at)
    return entries


def counts(uow: UnitOfWork, coordinator: Coordinator) -> dict[str, int]:
    """The dashboard's headline numbers."""
    with uow:
        requests = uow.requests.where(area=list(coordinator.areas))
        ids = [r.id for r in requests]
        suggested = uow.matches.count(team_request_id=ids, status=MatchStatus.SUGGESTED, proposed=True)
        approved = uow.matches.count(team_request_id=ids, status=MatchStatus.APPROVED)
    return {
        "open_requests": sum(1 for r in requests if r.status == RequestStatus.OPEN),
        "suggestions": suggested,
        "awaiting_introduction": approved,
    }
