"""The read model: everything coordinators' pages and the API show, from one place.

Each answer is limited to what the coordinator may see (``matcher.services.visibility``
holds the area rule and the visibility rules); the pages and the API views call
these functions and never open a repository themselves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from matcher.calls import Call, CallStatus
from matcher.chat_place import chat_place
from matcher.config import MatchingConfig
from matcher.content import ContentVersion
from matcher.domain import (
    AuditEntry,
    AuditSubject,
    Coordinator,
    Event,
    EventKind,
    FeedbackAnswer,
    FeedbackForm,
    FollowUp,
    FollowUpStatus,
    Match,
    MatchStatus,
    RequestStatus,
    TeamRequest,
    Term,
    Volunteer,
    VolunteerStatus,
)
from matcher.errors import NotFound
from matcher.ports import UnitOfWork
from matcher.programme_sessions import Booking, BookingStatus, ProgrammeSession
from matcher.rules import REASONS, Standing, screen, why_not
from matcher.scheduling import LONDON
from matcher.services.calls import visible_call
from matcher.services.sessions import visible_session
from matcher.services.standing import standings
from matcher.services.visibility import (
    areas_in_view,
    matched_in,
    matched_in_areas,
    visible_match,
    visible_request,
    visible_volunteer,
)


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int


def _page(found: list[Any], page: int, per_page: int) -> Page:
    start = (page - 1) * per_page
    return Page(found[start : start + per_page], len(found), page, per_page)


# --- One thing at a time ------------------------------------------------------------------------


def get_volunteer(uow: UnitOfWork, volunteer_id: str, coordinator: Coordinator) -> Volunteer:
    with uow:
        return visible_volunteer(uow, volunteer_id, coordinator)


def awaiting_confirmation(uow: UnitOfWork, volunteer_id: str) -> bool:
    """Whether this volunteer's offer waits for its email address to be confirmed (their
    link's page says that opening it confirms)."""
    with uow:
        volunteer = uow.volunteers.get(volunteer_id)
        return volunteer is not None and volunteer.unconfirmed


@dataclass
class RequestDetail:
    request: TeamRequest
    matches: list[Match]  # decided ones; suggestions are listed apart


def get_request(uow: UnitOfWork, request_id: str, coordinator: Coordinator) -> RequestDetail:
    """A request and its matches so far; its suggestions are listed apart."""
    with uow:
        request = visible_request(uow, request_id, coordinator)
        return RequestDetail(request, _decided(uow.matches.where(team_request_id=request.id)))


def _decided(matches: list[Match]) -> list[Match]:
    return [m for m in matches if m.status != MatchStatus.SUGGESTED]


def suggestions(uow: UnitOfWork, request_id: str, coordinator: Coordinator) -> list[tuple[Match, Volunteer]]:
    """A request's suggestions: the proposed assignment first, then alternates, each by rank."""
    with uow:
        request = visible_request(uow, request_id, coordinator)
        found = uow.matches.where(team_request_id=request.id, status=MatchStatus.SUGGESTED)
        found.sort(key=lambda m: (not m.proposed, m.rank, -m.score))
        people = {v.id: v for v in uow.volunteers.where(id=[m.volunteer_id for m in found])}
        return [(m, people[m.volunteer_id]) for m in found]


@dataclass
class WhyNot:
    """For each of a request's roles, every rule that keeps one volunteer from it."""

    request: TeamRequest
    volunteer: Volunteer
    roles: dict[str, list[dict[str, str]]]  # role → [{"rule": code, "reason": words}]

    @property
    def volunteer_id(self) -> str:
        return self.volunteer.id

    @property
    def eligible(self) -> bool:
        """No rule keeps them from at least one role: the assignment may still prefer others."""
        return any(not broken for broken in self.roles.values())


def why_not_suggested(
    uow: UnitOfWork, request_id: str, volunteer_id: str, coordinator: Coordinator, config: MatchingConfig
) -> WhyNot:
    """Why a volunteer is not suggested for a request, if the coordinator sees both: one unit
    of work, for the API and the coordinator's pages alike."""
    with uow:
        request = visible_request(uow, request_id, coordinator)
        volunteer = visible_volunteer(uow, volunteer_id, coordinator)
        standing = standings(uow, [volunteer])[volunteer.id]
        if uow.matches.count(team_request_id=request.id, volunteer_id=volunteer.id, status=MatchStatus.SUGGESTED):
            # Their own suggestion is not a reason to leave them out.
            standing = replace(standing, matched_request_ids=standing.matched_request_ids - {request.id})
    roles = {role: why_not(volunteer, request, role, standing, config) for role in request.role_codes}
    return WhyNot(request, volunteer, roles)


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


# --- Lists: the API's and the pages' (area, status, role, text; paged) ---------------------------


def list_volunteers(
    uow: UnitOfWork,
    coordinator: Coordinator,
    area: str | None = None,
    status: str | None = None,
    role: str | None = None,
    text: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Volunteers seen from the coordinator's areas (or the one asked for), by name:
    living or travelling there, or suggested for or matched to a request there."""
    areas = set(areas_in_view(coordinator, area))
    criteria: dict[str, Any] = {"status": status} if status else {}
    with uow:
        matched = matched_in_areas(uow, areas)
        # Travel areas live in a JSON list, so the area filter is applied here.
        found = [v for v in uow.volunteers.where(**criteria) if v.seen_from(matched.get(v.id, set())) & areas]
    if role:
        found = [v for v in found if role in v.roles]
    if text:
        needle = text.casefold()
        found = [v for v in found if needle in f"{v.name} {v.email}".casefold()]
    found.sort(key=lambda v: (v.name.casefold(), v.id))
    return _page(found, page, per_page)


def list_requests(
    uow: UnitOfWork,
    coordinator: Coordinator,
    area: str | None = None,
    status: str | None = None,
    role: str | None = None,
    text: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Requests in the coordinator's areas (or the one asked for), newest first."""
    criteria: dict[str, Any] = {"area": areas_in_view(coordinator, area)}
    if status:
        criteria["status"] = status
    with uow:
        found = uow.requests.where(**criteria)
    if role:
        found = [r for r in found if role in r.role_codes]
    if text:
        needle = text.casefold()
        found = [r for r in found if needle in f"{r.team_name} {r.project_title}".casefold()]
    found.sort(key=lambda r: (r.created_at or datetime.min, r.id), reverse=True)
    return _page(found, page, per_page)


def list_matches(
    uow: UnitOfWork,
    coordinator: Coordinator,
    area: str | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    with uow:
        request_ids = [r.id for r in uow.requests.where(area=areas_in_view(coordinator, area))]
        criteria: dict[str, Any] = {"team_request_id": request_ids}
        if status is not None:
            criteria["status"] = status
        total = uow.matches.count(**criteria)
        items = uow.matches.where(limit=per_page, offset=(page - 1) * per_page, **criteria)
    return Page(items, total, page, per_page)


# --- The dashboard: suggestions grouped by request, and who was left out -------------------------


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


def _groups(
    uow: UnitOfWork,
    coordinator: Coordinator,
    config: MatchingConfig,
    requests: list[TeamRequest],
    keep_empty: bool,
) -> list[RequestSuggestions]:
    """Inside a unit of work: each request's suggestions, and who was left out and why."""
    if not requests:
        return []
    matches = uow.matches.where(team_request_id=[r.id for r in requests])
    # Unconfirmed offers too: a coordinator sees them among those left out, and why.
    people = {v.id: v for v in uow.volunteers.where(status=list(VolunteerStatus.LIVE))}
    missing = {m.volunteer_id for m in matches} - set(people)
    people.update({v.id: v for v in uow.volunteers.where(id=list(missing))})
    standing = standings(uow)
    matched = matched_in_areas(uow, coordinator.areas)
    candidates = [
        v
        for v in people.values()
        if v.status != VolunteerStatus.WITHDRAWN and coordinator.can_see(v, matched.get(v.id, set()))
    ]
    groups = []
    for request in requests:
        on_request = [m for m in matches if m.team_request_id == request.id]
        suggested = sorted(
            (m for m in on_request if m.status == MatchStatus.SUGGESTED), key=lambda m: (m.rank, -m.score)
        )
        if not keep_empty and not suggested:
            continue
        group = RequestSuggestions(
            request,
            [(m, people[m.volunteer_id]) for m in suggested if m.proposed],
            [(m, people[m.volunteer_id]) for m in suggested if not m.proposed],
            request.open_places(on_request),
        )
        involved = {m.volunteer_id for m in on_request}
        left = _left_out(request, candidates, involved, standing, config)
        counts = Counter(code for lo in left for code in lo.reasons)
        group.left_out_counts = [(REASONS[code], n) for code, n in counts.most_common()]
        group.left_out = sorted(left, key=lambda lo: (len(lo.reasons), lo.volunteer.name))
        groups.append(group)
    groups.sort(key=lambda g: g.request.created_at or datetime.min)
    return groups


def suggestions_by_request(
    uow: UnitOfWork, coordinator: Coordinator, config: MatchingConfig
) -> list[RequestSuggestions]:
    """The open requests in the coordinator's areas that have suggestions, oldest first."""
    with uow:
        requests = uow.requests.where(area=areas_in_view(coordinator), status=RequestStatus.OPEN)
        return _groups(uow, coordinator, config, requests, keep_empty=False)


def counts(uow: UnitOfWork, coordinator: Coordinator) -> dict[str, int]:
    """The dashboard's headline numbers."""
    with uow:
        requests = uow.requests.where(area=areas_in_view(coordinator))
        ids = [r.id for r in requests]
        suggested = uow.matches.count(team_request_id=ids, status=MatchStatus.SUGGESTED, proposed=True)
        approved = uow.matches.count(team_request_id=ids, status=MatchStatus.APPROVED)
    return {
        "open_requests": sum(1 for r in requests if r.status == RequestStatus.OPEN),
        "suggestions": suggested,
        "awaiting_introduction": approved,
    }


# --- A request's, a volunteer's and a match's pages ----------------------------------------------


@dataclass
class RequestView:
    request: TeamRequest
    matches: list[Match]  # decided ones; suggestions are in the group
    people: dict[str, Volunteer]
    group: RequestSuggestions | None
    timeline: list[Event]


def request_view(uow: UnitOfWork, request_id: str, coordinator: Coordinator, config: MatchingConfig) -> RequestView:
    with uow:
        request = visible_request(uow, request_id, coordinator)
        matches = _decided(uow.matches.where(team_request_id=request.id))
        people = {v.id: v for v in uow.volunteers.where(id=[m.volunteer_id for m in matches])}
        groups = _groups(uow, coordinator, config, [request], keep_empty=True)
        events = uow.events.where(order_by="id", team_request_id=request.id)
    return RequestView(request, matches, people, groups[0] if groups else None, events)


@dataclass
class VolunteerView:
    volunteer: Volunteer
    matches: list[Match]  # decided ones, in any area: their other commitments matter too
    requests: dict[str, TeamRequest]
    timeline: list[Event]
    paused_until: date | None
    # The notes of the calls made that the timeline shows (call id -> the coordinator's words).
    call_notes: dict[str, str | None] = field(default_factory=dict)


def volunteer_view(uow: UnitOfWork, volunteer_id: str, coordinator: Coordinator) -> VolunteerView:
    with uow:
        volunteer = visible_volunteer(uow, volunteer_id, coordinator)
        matches = _decided(uow.matches.where(volunteer_id=volunteer.id))
        requests = {r.id: r for r in uow.requests.where(id=[m.team_request_id for m in matches])}
        events = uow.events.where(order_by="id", volunteer_id=volunteer.id)
        notes = _call_notes(uow, events)
    return VolunteerView(volunteer, matches, requests, events, volunteer.paused_until, notes)


def _call_notes(uow: UnitOfWork, events: list[Event]) -> dict[str, str | None]:
    """Inside a unit of work: the notes of the calls made on this timeline. The event holds
    the call's id only; the words live on the call, which erasure clears."""
    ids = [str(e.data["call"]) for e in events if e.kind == EventKind.CALL_MADE and e.data.get("call")]
    return {c.id: c.note for c in uow.calls.where(id=ids)} if ids else {}


@dataclass
class MatchView:
    match: Match
    request: TeamRequest
    volunteer: Volunteer
    timeline: list[Event]
    follow_ups: list[FollowUp]
    # Emails possibly sent (handed over, no answer) or given up: each may be resent in one click.
    resendable: list[Event] = field(default_factory=list)
    call_notes: dict[str, str | None] = field(default_factory=dict)  # as on VolunteerView


def match_view(uow: UnitOfWork, match_id: str, coordinator: Coordinator) -> MatchView:
    with uow:
        match, request = visible_match(uow, match_id, coordinator)
        volunteer = uow.volunteers.get(match.volunteer_id)
        assert volunteer is not None  # a match's volunteer is kept (erasure anonymises, never deletes)
        events = uow.events.where(match_id=match.id, order_by="id")
        follow_ups = uow.follow_ups.where(match_id=match.id, order_by="sequence")
        notes = _call_notes(uow, events)
    latest = {str(e.data["key"]): e for e in events if e.kind in RESENDABLE and e.data.get("key")}
    resendable = [e for key, e in latest.items() if uow.deliveries.status(key) in ("uncertain", "failed")]
    return MatchView(match, request, volunteer, events, follow_ups, resendable, notes)


RESENDABLE = (EventKind.EMAIL_UNCERTAIN, EventKind.EMAIL_FAILED)


# --- The follow-up calendar ----------------------------------------------------------------------


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
    with uow:
        requests = {r.id: r for r in uow.requests.where(area=areas_in_view(coordinator, area))}
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


# --- A team's own status page (its private link) -------------------------------------------------


@dataclass
class TeamStatus:
    request: TeamRequest
    places: list[dict[str, Any]]  # per role: count asked, places filled
    people: list[dict[str, Any]]  # who holds or held a place: a first name only once introduced
    has_suggestions: bool


def team_status(uow: UnitOfWork, request_id: str) -> TeamStatus:
    with uow:
        request = uow.requests.get(request_id)
        if request is None:
            raise NotFound("this request is no longer on record")
        matches = _decided(uow.matches.where(team_request_id=request.id))
        suggested = uow.matches.count(team_request_id=request.id, status=MatchStatus.SUGGESTED)
        introduced = [m.volunteer_id for m in matches if m.status in (MatchStatus.INTRODUCED, MatchStatus.CLOSED)]
        # Only once introduced does the team learn who: until then, no volunteer's details.
        known = {v.id: v for v in uow.volunteers.where(id=introduced)}
    # A closed match gave its place back: only current commitments fill places.
    filled = Counter(m.role for m in matches if m.status in MatchStatus.COMMITTED)
    places = [{"role": r["role"], "count": int(r["count"]), "filled": filled[r["role"]]} for r in request.roles]
    people = [
        {
            "role": m.role,
            "status": m.status,
            "name": known[m.volunteer_id].first_name if m.volunteer_id in known else None,
            "intro_at": m.intro_at,
            "match_id": m.id,
            # Where the chat is, once the team knows who is coming (as their invitation says).
            "place": chat_place(m, request, known[m.volunteer_id]) if m.volunteer_id in known else None,
        }
        for m in matches
        if m.status in (*MatchStatus.COMMITTED, MatchStatus.CLOSED)
    ]
    return TeamStatus(request, places, people, suggested > 0)


# --- Feedback after follow-up chats --------------------------------------------------------------


@dataclass
class FeedbackEntry:
    """One side's form after one chat, and its answer if it came."""

    form: FeedbackForm
    sequence: int
    answer: FeedbackAnswer | None


def match_feedback(uow: UnitOfWork, match_id: str, coordinator: Coordinator) -> list[FeedbackEntry]:
    """A match's feedback forms, chat by chat, team first: for its page and the API."""
    with uow:
        match, _ = visible_match(uow, match_id, coordinator)
        forms = uow.feedback_forms.where(match_id=match.id, order_by="asked_at")
        answers = {a.form_id: a for a in uow.feedback_answers.where(match_id=match.id)}
        sequences = {f.id: f.sequence for f in uow.follow_ups.where(match_id=match.id)}
    entries = [FeedbackEntry(f, sequences.get(f.follow_up_id, 0), answers.get(f.id)) for f in forms]
    entries.sort(key=lambda e: (e.sequence, e.form.party))
    return entries


@dataclass
class NeedsAttention:
    """A poor answer nobody has marked as dealt with yet: on the dashboard."""

    answer: FeedbackAnswer
    match: Match
    request: TeamRequest
    volunteer: Volunteer
    sequence: int


def feedback_needing_attention(uow: UnitOfWork, coordinator: Coordinator) -> list[NeedsAttention]:
    """Poor answers in the coordinator's areas not yet dealt with, newest first."""
    with uow:
        requests = {r.id: r for r in uow.requests.where(area=areas_in_view(coordinator))}
        matches = {
            m.id: m
            for m in uow.matches.where(
                team_request_id=list(requests), status=[*MatchStatus.COMMITTED, MatchStatus.CLOSED]
            )
        }
        open_ = [a for a in uow.feedback_answers.where(match_id=list(matches), handled_at=None) if a.poor]
        forms = {f.id: f for f in uow.feedback_forms.where(id=[a.form_id for a in open_])}
        chats = {f.id: f.sequence for f in uow.follow_ups.where(id=[f.follow_up_id for f in forms.values()])}
        people = {v.id: v for v in uow.volunteers.where(id=[matches[a.match_id].volunteer_id for a in open_])}
    found = [
        NeedsAttention(
            a,
            matches[a.match_id],
            requests[matches[a.match_id].team_request_id],
            people[matches[a.match_id].volunteer_id],
            chats.get(forms[a.form_id].follow_up_id, 0),
        )
        for a in open_
    ]
    found.sort(key=lambda n: n.answer.answered_at, reverse=True)
    return found


# --- The call list ------------------------------------------------------------------------------


@dataclass
class CallLine:
    """One call on the list: whom to ring, why, and what about (a match and its request, if any)."""

    call: Call
    volunteer: Volunteer
    match: Match | None
    request: TeamRequest | None


def calls_in_view(uow: UnitOfWork, coordinator: Coordinator, areas: list[str], status: str) -> list[CallLine]:
    """Inside a unit of work: the calls owed (oldest first) or made (latest first) that the
    coordinator sees in ``areas``: a call about a match by its request's area (the area rule),
    any other by the volunteer rule (where they live or travel, or are matched)."""
    if status == CallStatus.OWED:
        found = uow.calls.where(called_at=None, order_by="owed_at")
    else:
        found = [c for c in uow.calls.where(order_by="called_at") if c.done]
        found.reverse()
    matches = {m.id: m for m in uow.matches.where(id=[c.match_id for c in found if c.match_id])}
    requests = {r.id: r for r in uow.requests.where(id=[m.team_request_id for m in matches.values()])}
    people = {v.id: v for v in uow.volunteers.where(id=list({c.volunteer_id for c in found}))}
    unmatched = [c.volunteer_id for c in found if not c.match_id]
    matched = matched_in(uow, unmatched) if unmatched else {}
    wanted = set(areas)
    lines = []
    for c in found:
        match = matches.get(c.match_id or "")
        request = requests.get(match.team_request_id) if match else None
        volunteer = people[c.volunteer_id]
        if match is not None:
            seen = request is not None and request.area in wanted
        else:
            seen = bool(volunteer.seen_from(matched.get(volunteer.id, set())) & wanted)
        if seen:
            lines.append(CallLine(c, volunteer, match, request))
    return lines


def call_line(uow: UnitOfWork, call_id: str, coordinator: Coordinator) -> CallLine:
    """One call the coordinator sees, as the list shows it; else not found."""
    with uow:
        call = visible_call(uow, call_id, coordinator)
        volunteer = uow.volunteers.get(call.volunteer_id)
        assert volunteer is not None  # a call's volunteer is kept (erasure anonymises, never deletes)
        match = uow.matches.get(call.match_id) if call.match_id else None
        request = uow.requests.get(match.team_request_id) if match else None
    return CallLine(call, volunteer, match, request)


def list_calls(
    uow: UnitOfWork,
    coordinator: Coordinator,
    status: str = CallStatus.OWED,
    area: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """The call list: owed calls most overdue first, or the calls made, latest first."""
    with uow:
        found = calls_in_view(uow, coordinator, areas_in_view(coordinator, area), status)
    return _page(found, page, per_page)


# --- The audit log -------------------------------------------------------------------------------


@dataclass
class AuditPage(Page):
    # Every coordinator by id, for naming who acted (and for the page's filter).
    coordinators: dict[str, Coordinator] = field(default_factory=dict)


def audit_log(
    uow: UnitOfWork,
    coordinator: Coordinator,
    *,
    by: str | None = None,
    action: str | None = None,
    subject_kind: str | None = None,
    subject_id: str | None = None,
    from_day: date | None = None,
    to_day: date | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    """Audit entries, newest first, that the coordinator may read: their own actions, sign-in
    attempts on their own account, and entries about their areas' requests, matches and
    volunteers (the area rule, as everywhere). An admin reads them all. Days are London's,
    both included."""
    since = None if from_day is None else datetime.combine(from_day, time(0), LONDON)
    until = None if to_day is None else datetime.combine(to_day + timedelta(days=1), time(0), LONDON)
    criteria: dict[str, Any] = {}
    for name, value in (("coordinator_id", by), ("action", action), ("subject_kind", subject_kind)):
        if value:
            criteria[name] = value
    if subject_id:
        criteria["subject_id"] = subject_id
    with uow:
        found = [
            e
            for e in uow.audit.where(order_by="id", **criteria)
            if (since is None or e.at >= since) and (until is None or e.at < until)
        ]
        if not coordinator.admin:
            found = _audit_in_view(uow, coordinator, found)
        everyone = {c.id: c for c in uow.coordinators.where()}
    found.reverse()  # newest first
    start = (page - 1) * per_page
    return AuditPage(found[start : start + per_page], len(found), page, per_page, everyone)


def _audit_in_view(uow: UnitOfWork, coordinator: Coordinator, entries: list[AuditEntry]) -> list[AuditEntry]:
    """Inside a unit of work: the entries a coordinator who is not an admin may read."""
    areas = set(coordinator.areas)
    about = {kind: {e.subject_id for e in entries if e.subject_kind == kind} for kind in AuditSubject}
    requests_seen = {r.id for r in uow.requests.where(id=list(about[AuditSubject.REQUEST]), area=list(areas))}
    on_matches = uow.matches.where(id=list(about[AuditSubject.MATCH]))
    area_of = {r.id: r.area for r in uow.requests.where(id=list({m.team_request_id for m in on_matches}))}
    matches_seen = {m.id for m in on_matches if area_of.get(m.team_request_id) in areas}
    people = uow.volunteers.where(id=list(about[AuditSubject.VOLUNTEER]))
    matched = matched_in(uow, [v.id for v in people])
    people_seen = {v.id for v in people if coordinator.can_see(v, matched.get(v.id, set()))}
    seen = {
        AuditSubject.REQUEST: requests_seen,
        AuditSubject.MATCH: matches_seen,
        AuditSubject.VOLUNTEER: people_seen,
        AuditSubject.COORDINATOR: {coordinator.id},
        AuditSubject.PROGRAMME: areas,
    }
    return [
        e
        for e in entries
        if e.coordinator_id == coordinator.id or e.subject_id in seen.get(AuditSubject(e.subject_kind), set())
    ]


# --- The programme's sessions --------------------------------------------------------------------


@dataclass
class SessionSummary:
    session: ProgrammeSession
    booked: int
    waiting: int

    @property
    def places_left(self) -> int:
        return max(self.session.capacity - self.booked, 0)


@dataclass
class BookingLine:
    booking: Booking
    volunteer_name: str
    position: int | None = None  # on the waiting list: 1 moves up next


@dataclass
class SessionView:
    summary: SessionSummary
    booked: list[BookingLine]
    waiting: list[BookingLine]  # in the order they move up
    cancelled: list[BookingLine]

    @property
    def session(self) -> ProgrammeSession:
        return self.summary.session


def _summaries(uow: UnitOfWork, found: list[ProgrammeSession]) -> list[SessionSummary]:
    live = uow.bookings.where(session_id=[s.id for s in found], status=list(BookingStatus.LIVE))
    booked = Counter(b.session_id for b in live if b.status == BookingStatus.BOOKED)
    waiting = Counter(b.session_id for b in live if b.status == BookingStatus.WAITING)
    return [SessionSummary(s, booked[s.id], waiting[s.id]) for s in found]


def list_sessions(
    uow: UnitOfWork,
    coordinator: Coordinator,
    *,
    area: str | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Sessions in the coordinator's areas, soonest first, with their places taken."""
    criteria: dict[str, Any] = {"area": areas_in_view(coordinator, area)}
    if status:
        criteria["status"] = status
    with uow:
        total = uow.programme_sessions.count(**criteria)
        found = uow.programme_sessions.where(
            order_by="starts_at", limit=per_page, offset=(page - 1) * per_page, **criteria
        )
        return Page(_summaries(uow, found), total, page, per_page)


def session_view(uow: UnitOfWork, session_id: str, coordinator: Coordinator) -> SessionView:
    """One session with who is booked, who waits (in order) and who cancelled."""
    with uow:
        session = visible_session(uow, session_id, coordinator)
        bookings = uow.bookings.where(session_id=session.id)
        names = {v.id: v.name for v in uow.volunteers.where(id=[b.volunteer_id for b in bookings])}
        lines = {b.id: BookingLine(b, names.get(b.volunteer_id, "")) for b in bookings}
        booked = sorted((lines[b.id] for b in bookings if b.status == BookingStatus.BOOKED), key=_by_name)
        queue = sorted(
            (b for b in bookings if b.status == BookingStatus.WAITING),
            key=lambda b: (b.queued_at.timestamp() if b.queued_at else 0.0, b.id),
        )
        waiting = [replace(lines[b.id], position=i) for i, b in enumerate(queue, 1)]
        cancelled = sorted((lines[b.id] for b in bookings if b.status == BookingStatus.CANCELLED), key=_by_name)
        return SessionView(SessionSummary(session, len(booked), len(waiting)), booked, waiting, cancelled)


def _by_name(line: BookingLine) -> tuple[str, str]:
    return (line.volunteer_name.casefold(), line.booking.id)


# --- The programme's text, as coordinators edit it ---------------------------------------------


def content_in_force(uow: UnitOfWork, key: str) -> str | None:
    """The saved text for ``key``, or None when the shipped text is in force (never
    edited, or reverted to the shipped text). One indexed row: cheap on every request."""
    with uow:
        latest = uow.content.latest(key)
    if latest is None or (latest.reverted_from == 0 and not latest.body):
        return None
    return latest.body


@dataclass
class ContentHistory:
    versions: list[ContentVersion]
    names: dict[str, str]  # coordinator id -> how the page names them


def content_history(uow: UnitOfWork, key: str, limit: int = 50) -> ContentHistory:
    with uow:
        versions = uow.content.history(key, limit)
        ids = sorted({v.by for v in versions if v.by})
        people = uow.coordinators.where(id=ids) if ids else []
    return ContentHistory(versions, {c.id: c.name or c.email for c in people})


def content_edited(uow: UnitOfWork) -> dict[str, ContentVersion]:
    """The newest saved version of each key that has one."""
    with uow:
        return uow.content.edited_keys()


def vocabulary_terms(uow: UnitOfWork) -> dict[str, list[Term]]:
    """Every vocabulary's terms in order, retired ones too (for the page that edits them)."""
    with uow:
        terms = uow.terms.where(order_by="position")
    out: dict[str, list[Term]] = {}
    for t in terms:
        out.setdefault(t.vocabulary, []).append(t)
    return out
