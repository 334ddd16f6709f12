"""Reading, for coordinators: each answer limited to the areas they look after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matcher.domain import Coordinator, Event, FollowUp, Match, MatchStatus, TeamRequest, Volunteer
from matcher.errors import Forbidden, NotFound
from matcher.ports import UnitOfWork
from matcher.services.decisions import visible_match, visible_request


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int


def _areas(coordinator: Coordinator, area: str | None) -> list[str]:
    if area is None:
        return list(coordinator.areas)
    if not coordinator.covers(area):
        raise Forbidden(f"you do not look after {area}")
    return [area]


def get_volunteer(uow: UnitOfWork, volunteer_id: str, coordinator: Coordinator) -> Volunteer:
    with uow:
        volunteer = uow.volunteers.get(volunteer_id)
        if volunteer is None or not coordinator.can_see(volunteer):
            raise NotFound("volunteer not found")
        return volunteer


def list_volunteers(
    uow: UnitOfWork, coordinator: Coordinator, area: str | None, status: str | None, page: int, per_page: int
) -> Page:
    areas = set(_areas(coordinator, area))
    criteria: dict[str, Any] = {} if status is None else {"status": status}
    with uow:
        # Travel areas live in a JSON list, so the area filter is applied here.
        found = [v for v in uow.volunteers.where(**criteria) if v.reachable_areas & areas]
    start = (page - 1) * per_page
    return Page(found[start : start + per_page], len(found), page, per_page)


def list_requests(
    uow: UnitOfWork, coordinator: Coordinator, area: str | None, status: str | None, page: int, per_page: int
) -> Page:
    criteria: dict[str, Any] = {"area": _areas(coordinator, area)}
    if status is not None:
        criteria["status"] = status
    with uow:
        total = uow.requests.count(**criteria)
        items = uow.requests.where(limit=per_page, offset=(page - 1) * per_page, **criteria)
    return Page(items, total, page, per_page)


def list_matches(
    uow: UnitOfWork, coordinator: Coordinator, area: str | None, status: str | None, page: int, per_page: int
) -> Page:
    with uow:
        request_ids = [r.id for r in uow.requests.where(area=_areas(coordinator, area))]
        criteria: dict[str, Any] = {"team_request_id": request_ids}
        if status is not None:
            criteria["status"] = status
        total = uow.matches.count(**criteria)
        items = uow.matches.where(limit=per_page, offset=(page - 1) * per_page, **criteria)
    return Page(items, total, page, per_page)


def get_request(uow: UnitOfWork, request_id: str, coordinator: Coordinator) -> tuple[TeamRequest, list[Match]]:
    with uow:
        request = visible_request(uow, request_id, coordinator)
        shown = [m for m in uow.matches.where(team_request_id=request.id) if m.status != MatchStatus.SUGGESTED]
        return request, shown


def suggestions(uow: UnitOfWork, request_id: str, coordinator: Coordinator) -> list[tuple[Match, Volunteer]]:
    with uow:
        request = visible_request(uow, request_id, coordinator)
        found = uow.matches.where(team_request_id=request.id, status=MatchStatus.SUGGESTED)
        # The proposed assignment first, then alternates, each by rank.
        found.sort(key=lambda m: (not m.proposed, m.rank, -m.score))
        people = {v.id: v for v in uow.volunteers.where(id=[m.volunteer_id for m in found])}
        return [(m, people[m.volunteer_id]) for m in found]


def get_match(uow: UnitOfWork, match_id: str, coordinator: Coordinator) -> tuple[Match, list[Event], list[FollowUp]]:
    with uow:
        match, _ = visible_match(uow, match_id, coordinator)
        timeline = uow.events.where(match_id=match.id, order_by="id")
        follow_ups = uow.follow_ups.where(match_id=match.id, order_by="sequence")
        return match, timeline, follow_ups


def timeline(uow: UnitOfWork, **about: Any) -> list[Event]:
    with uow:
        return uow.events.where(order_by="id", **about)


def taxonomy(uow: UnitOfWork, include_inactive: bool = False) -> dict[str, list[dict[str, Any]]]:
    with uow:
        terms = (
            uow.terms.where(order_by="position")
            if include_inactive
            else uow.terms.where(active=True, order_by="position")
        )
    out: dict[str, list[dict[str, Any]]] = {}
    for t in terms:
        out.setdefault(t.vocabulary, []).append({"code": t.code, "label": t.label})
    return out
