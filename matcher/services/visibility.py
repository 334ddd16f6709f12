"""What a coordinator may see: the area rule and the visibility rules, in one place.

A coordinator looks after areas. They see the requests in those areas and every
match on them (suggestions included), and the volunteers who live in or travel to
those areas. Anything else is reported as not found, so ids reveal nothing;
asking for an area one does not look after is refused, on the pages as in the API.
"""

from __future__ import annotations

from matcher.domain import Coordinator, Match, TeamRequest, Volunteer
from matcher.errors import Forbidden, NotFound
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
    return match, request


def visible_volunteer(uow: UnitOfWork, volunteer_id: str, coordinator: Coordinator) -> Volunteer:
    volunteer = uow.volunteers.get(volunteer_id)
    if volunteer is None or not coordinator.can_see(volunteer):
        raise NotFound("volunteer not found")
    return volunteer
