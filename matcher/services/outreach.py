"""The involvement team's outreach: events it records, each with a sign-up link that
attributes offers to it; meetings people suggest it attends; and how far the people
each source brought in went.

An outreach event is seen by the coordinators of its area, like a request. Its sign-up
code is public (it is printed as a QR code at a stall); it opens nobody's data.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from matcher.domain import AuditAction, AuditSubject, Coordinator, EventKind, Volunteer
from matcher.errors import Invalid, NotFound
from matcher.outreach import MeetingSuggestion, OutreachEvent
from matcher.ports import Clock, UnitOfWork
from matcher.scheduling import LONDON
from matcher.services import audit
from matcher.services.queries import Page
from matcher.services.visibility import areas_in_view

CHANGEABLE = frozenset({"name", "held_on", "area", "kind", "people_reached", "notes"})
NO_EVENT = "direct"  # the funnel's name for offers made without an event's link


@dataclass
class EventView:
    event: OutreachEvent
    sign_ups: int


def record_event(uow: UnitOfWork, fields: dict[str, Any], coordinator: Coordinator, clock: Clock) -> OutreachEvent:
    """A coordinator records an event in one of their areas; it gets its own sign-up code."""
    areas_in_view(coordinator, fields["area"])  # 403 for an area they do not look after
    now = clock.now()
    event = OutreachEvent(**fields, recorded_by=coordinator.id, created_at=now, updated_at=now)
    with uow:
        uow.outreach_events.add(event)
        audit.record(uow, coordinator, AuditAction.OUTREACH_RECORDED, AuditSubject.OUTREACH_EVENT, event.id, clock)
        uow.commit()
    return event


def _visible(uow: UnitOfWork, event_id: str, coordinator: Coordinator, for_update: bool = False) -> OutreachEvent:
    event = uow.outreach_events.get(event_id, for_update=for_update)
    if event is None or not coordinator.covers(event.area):
        # Not told apart from "no such event": other areas' events are not this coordinator's business.
        raise NotFound("no such outreach event in your areas")
    return event


def update_event(
    uow: UnitOfWork, event_id: str, changes: dict[str, Any], coordinator: Coordinator, clock: Clock
) -> OutreachEvent:
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise Invalid({name: ["Unknown field."] for name in sorted(unknown)})
    if "area" in changes:
        areas_in_view(coordinator, changes["area"])
    with uow:
        event = _visible(uow, event_id, coordinator, for_update=True)
        for name, value in changes.items():
            setattr(event, name, value)
        event.updated_at = clock.now()
        uow.commit()
    return event


def get_event(uow: UnitOfWork, event_id: str, coordinator: Coordinator) -> EventView:
    with uow:
        event = _visible(uow, event_id, coordinator)
        return EventView(event, uow.volunteers.count(source_event_id=event.id))


def list_events(
    uow: UnitOfWork, coordinator: Coordinator, area: str | None = None, page: int = 1, per_page: int = 50
) -> Page:
    """Events in the coordinator's areas (or the one asked for), latest first, with their sign-ups."""
    areas = areas_in_view(coordinator, area)
    with uow:
        events = uow.outreach_events.where(area=areas)
        signed = Counter(v.source_event_id for v in uow.volunteers.where(source_event_id=[e.id for e in events]))
    events.sort(key=lambda e: (e.held_on, e.created_at or datetime.min), reverse=True)
    views = [EventView(e, signed[e.id]) for e in events]
    start = (page - 1) * per_page
    return Page(views[start : start + per_page], len(views), page, per_page)


def event_for_code(uow: UnitOfWork, code: str) -> OutreachEvent | None:
    """The event a public sign-up link names, if any (an unknown code is simply no source)."""
    with uow:
        found = uow.outreach_events.where(code=code)
    return found[0] if found else None


def check_source(uow: UnitOfWork, source: str | None) -> None:
    """Inside the caller's unit of work: an offer's named source must be a recorded event."""
    if source is not None and uow.outreach_events.get(source) is None:
        raise Invalid({"source": ["There is no outreach event with this id."]})


# --- Meetings people suggest ------------------------------------------------------------------


def suggest_meeting(uow: UnitOfWork, fields: dict[str, Any], clock: Clock) -> MeetingSuggestion:
    """Anyone tells the team about a meeting worth going to; the area's coordinators see it."""
    suggestion = MeetingSuggestion(**fields, created_at=clock.now())
    with uow:
        uow.meeting_suggestions.add(suggestion)
        uow.commit()
    return suggestion


def open_suggestions(uow: UnitOfWork, coordinator: Coordinator, area: str | None = None) -> list[MeetingSuggestion]:
    with uow:
        return uow.meeting_suggestions.where(area=areas_in_view(coordinator, area), handled_at=None)


def handle_suggestion(uow: UnitOfWork, suggestion_id: str, coordinator: Coordinator, clock: Clock) -> MeetingSuggestion:
    """Dealt with: it leaves the list, and the suggester's address (if they gave one) is cleared."""
    with uow:
        suggestion = uow.meeting_suggestions.get(suggestion_id, for_update=True)
        if suggestion is None or not coordinator.covers(suggestion.area):
            raise NotFound("no such meeting suggestion in your areas")
        if suggestion.handled_at is None:
            suggestion.handle(coordinator.id, clock.now())
            audit.record(
                uow, coordinator, AuditAction.MEETING_SUGGESTION_HANDLED, AuditSubject.MEETING_SUGGESTION,
                suggestion.id, clock,
            )  # fmt: skip
            uow.commit()
    return suggestion


# --- Where people came from, and how far they went --------------------------------------------


@dataclass
class FunnelRow:
    """People who signed up in ``month`` through ``source``, and how many of them went on."""

    source: str  # an outreach event's id, or NO_EVENT
    source_name: str
    month: date  # its first day
    signed_up: int = 0
    suggested: int = 0  # suggested to a team at least once
    introduced: int = 0  # introduced to a team at least once
    involved_again: int = 0  # introduced to a second team


def _month(moment: datetime) -> date:
    return moment.astimezone(LONDON).date().replace(day=1)


def funnel(uow: UnitOfWork, coordinator: Coordinator, area: str | None = None) -> list[FunnelRow]:
    """Sign-ups by source and month, and each step they reached (people living in the
    coordinator's areas; erased people count too: their counts stay when they go)."""
    areas = areas_in_view(coordinator, area)
    with uow:
        people: list[Volunteer] = uow.volunteers.where(home_area=areas)
        ids = [v.id for v in people]
        suggested = {e.volunteer_id for e in uow.events.where(kind=EventKind.MATCH_SUGGESTED, volunteer_id=ids)}
        introductions: dict[str, set[str]] = defaultdict(set)
        for e in uow.events.where(kind=EventKind.MATCH_INTRODUCED, volunteer_id=ids):
            introductions[e.volunteer_id or ""].add(e.match_id or "")
        names = {e.id: e.name for e in uow.outreach_events.where(id=list({v.source_event_id for v in people} - {None}))}
    rows: dict[tuple[str, date], FunnelRow] = {}
    for v in people:
        if v.created_at is None:
            continue
        source = v.source_event_id or NO_EVENT
        key = (source, _month(v.created_at))
        row = rows.setdefault(key, FunnelRow(source, names.get(source, "Website and other ways"), key[1]))
        row.signed_up += 1
        row.suggested += v.id in suggested
        row.introduced += len(introductions[v.id]) >= 1
        row.involved_again += len(introductions[v.id]) >= 2
    return sorted(rows.values(), key=lambda r: (r.month, r.source_name), reverse=True)


def sign_ups_by_source(rows: list[FunnelRow]) -> list[tuple[str, int]]:
    """Each source's sign-ups over all months, most first."""
    totals: Counter[str] = Counter()
    for row in rows:
        totals[row.source_name] += row.signed_up
    return totals.most_common()
