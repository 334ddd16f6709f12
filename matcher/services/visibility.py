"""What a coordinator may see: the area rule and the visibility rules, in one place.

A coordinator looks after areas. They see the requests in those areas and every
match on them (suggestions included), and the volunteers who live in or travel to
those areas or who are suggested for or matched to those areas' requests (whatever
became of the match): whoever is put before a coordinator to decide on, they can
open, with the whole offer. Anything else is reported as not found, so ids reveal
nothing; asking for an area one does not look after is refused, on the pages as in
the API.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from matcher.domain import Coordinator, Match, TeamRequest, Volunteer
from matcher.errors import Conflict, Forbidden, NotFound
from matcher.ports import UnitOfWork


class AreaNotCovered(Forbidden):
    def __init__(self, area: str) -> None:
        super().__init__(f"you do not look after {area}")
        self.area = area


def areas_in_view(coordinator: Coordinator, area: str | None = None) -> list[str]:
    """The area rule: all of the coordinator's areas, or the one asked for if it is theirs."""
    if area is None or area == "":
        return list(coordinator.areas)
    if not coordinator.covers(area):
        raise AreaNotCovered(area)
    return [area]


def visible_request(
    uow: UnitOfWork, request_id: str, coordinator: Coordinator, for_update: bool = False
) -> TeamRequest:
    request = uow.requests.get(request_id, for_update=for_update)
    if request is None or not coordinator.covers(request.area):
        raise NotFound("team request not found")
    return request


def visible_match(
    uow: UnitOfWork, match_id: str, coordinator: Coordinator, for_update: bool = False
) -> tuple[Match, TeamRequest]:
    match = uow.matches.get(match_id)
    if match is None:
        raise NotFound("match not found")
    request = uow.requests.get(match.team_request_id, for_update=for_update)
    if request is None or not coordinator.covers(request.area):
        raise NotFound("match not found")
    if for_update:
        # Always the request's lock first, then the match read again under it: a rescore
        # (which holds the same lock) may have rewritten or withdrawn the suggestion
        # between the first read and the lock.
        match = uow.matches.get(match_id, for_update=True)
        if match is None:
            raise Conflict(
                "this suggestion was withdrawn by a rescore while you were deciding;"
                " the request's page shows its current suggestions"
            )
    return match, request


def matched_in(uow: UnitOfWork, volunteer_ids: Collection[str]) -> dict[str, set[str]]:
    """For each of these volunteers, the areas of the requests they have a match on (any status)."""
    matches = uow.matches.where(volunteer_id=list(volunteer_ids))
    area_of = {r.id: r.area for r in uow.requests.where(id=list({m.team_request_id for m in matches}))}
    found: dict[str, set[str]] = defaultdict(set)
    for m in matches:
        found[m.volunteer_id].add(area_of[m.team_request_id])
    return found


def matched_in_areas(uow: UnitOfWork, areas: Collection[str]) -> dict[str, set[str]]:
    """The volunteers with a match on a request in these areas, with those areas.

    Starts from the areas' requests, so a listing never loads every volunteer's matches.
    """
    area_of = {r.id: r.area for r in uow.requests.where(area=list(areas))}
    found: dict[str, set[str]] = defaultdict(set)
    for m in uow.matches.where(team_request_id=list(area_of)):
        found[m.volunteer_id].add(area_of[m.team_request_id])
    return found


def sees_volunteer(uow: UnitOfWork, coordinator: Coordinator, volunteer: Volunteer) -> bool:
    """The volunteer rule, for one person: inside a unit of work."""
    if coordinator.can_see(volunteer, ()):
        return True  # lives in or travels to their areas: no need to look at matches
    return coordinator.can_see(volunteer, matched_in(uow, [volunteer.id]).get(volunteer.id, set()))


def visible_volunteer(
    uow: UnitOfWork, volunteer_id: str, coordinator: Coordinator, for_update: bool = False
) -> Volunteer:
    volunteer = uow.volunteers.get(volunteer_id, for_update=for_update)
    if volunteer is None or not sees_volunteer(uow, coordinator, volunteer):
        raise NotFound("volunteer not found")
    return volunteer
