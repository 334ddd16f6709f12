"""What volunteers do for themselves through their private link: see their
introductions and chats, pause until a date, withdraw, export, be erased."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from matcher.domain import (
    Event,
    EventKind,
    FollowUp,
    FollowUpStatus,
    Match,
    MatchStatus,
    TeamRequest,
    Volunteer,
    VolunteerStatus,
)
from matcher.errors import Invalid, NotFound
from matcher.ports import Clock, Mailer, UnitOfWork
from matcher.programme_sessions import Booking, BookingStatus, ProgrammeSession, SessionStatus
from matcher.scheduling import LONDON
from matcher.services import intake, sessions

PAUSED_EVENT = EventKind.VOLUNTEER_PAUSED


@dataclass
class Involvement:
    match: Match
    request: TeamRequest
    follow_ups: list[FollowUp]


@dataclass
class Overview:
    volunteer: Volunteer
    paused_until: date | None
    involvements: list[Involvement]  # introduced (or approved, on its way) and past ones
    upcoming: list[tuple[datetime, str, Involvement]]  # (when, what, which) ahead of now


def _get(uow: UnitOfWork, volunteer_id: str) -> Volunteer:
    volunteer = uow.volunteers.get(volunteer_id)
    if volunteer is None or volunteer.erased:
        raise NotFound("volunteer not found")
    return volunteer


def overview(uow: UnitOfWork, volunteer_id: str, clock: Clock) -> Overview:
    now = clock.now()
    with uow:
        volunteer = _get(uow, volunteer_id)
        shown = uow.matches.where(
            volunteer_id=volunteer.id, status=[*MatchStatus.COMMITTED, MatchStatus.CLOSED], order_by="created_at"
        )
        requests = {r.id: r for r in uow.requests.where(id=[m.team_request_id for m in shown])}
        involvements = []
        upcoming: list[tuple[datetime, str, Involvement]] = []
        for m in shown:
            chats = uow.follow_ups.where(match_id=m.id, order_by="sequence")
            inv = Involvement(m, requests[m.team_request_id], chats)
            involvements.append(inv)
            if m.status == MatchStatus.CLOSED:
                continue
            if m.intro_at is not None and m.intro_at >= now:
                upcoming.append((m.intro_at, "Introductory chat", inv))
            for f in chats:
                if f.status != FollowUpStatus.CANCELLED and f.due_at >= now:
                    upcoming.append((f.due_at, f"Follow-up chat {f.sequence}", inv))
        upcoming.sort(key=lambda item: item[0])
        return Overview(volunteer, volunteer.paused_until, involvements, upcoming)


@dataclass
class SessionOffer:
    """A session to come, as the volunteer's own page shows it: their booking, if any."""

    session: ProgrammeSession
    booking: Booking | None
    places_left: int


def session_offers(uow: UnitOfWork, volunteer_id: str, clock: Clock) -> list[SessionOffer]:
    """Sessions still to come that the volunteer can reach (their areas, or by video), and
    any they hold a place or wait for, soonest first."""
    now = clock.now()
    with uow:
        volunteer = _get(uow, volunteer_id)
        mine = {b.session_id: b for b in uow.bookings.where(volunteer_id=volunteer.id, status=list(BookingStatus.LIVE))}
        upcoming = [
            s
            for s in uow.programme_sessions.where(status=SessionStatus.SCHEDULED, order_by="starts_at")
            if not s.started(now) and (s.id in mine or sessions.in_reach(s, volunteer))
        ]
        booked = uow.bookings.where(session_id=[s.id for s in upcoming], status=BookingStatus.BOOKED)
        taken: dict[str, int] = {}
        for b in booked:
            taken[b.session_id] = taken.get(b.session_id, 0) + 1
        return [SessionOffer(s, mine.get(s.id), max(s.capacity - taken.get(s.id, 0), 0)) for s in upcoming]


def pause_until(uow: UnitOfWork, volunteer_id: str, until: date, clock: Clock) -> Volunteer:
    now = clock.now()
    today = now.astimezone(LONDON).date()
    if until <= today:
        raise Invalid({"until": ["Choose a date after today."]})
    if (until - today).days > 366:
        raise Invalid({"until": ["Choose a date within the next year."]})
    with uow:
        volunteer = _get(uow, volunteer_id)
        if volunteer.status == VolunteerStatus.WITHDRAWN:
            raise Invalid({"until": ["You have withdrawn; sign up again to take part."]})
        volunteer.pause(now, until)
        # volunteer.updated rescoring drops their open suggestions; volunteer.paused is the timeline's.
        uow.events.add(Event(EventKind.VOLUNTEER_UPDATED, now, volunteer_id=volunteer.id, data={"fields": ["status"]}))
        uow.events.add(Event(PAUSED_EVENT, now, volunteer_id=volunteer.id, data={"until": until.isoformat()}))
        uow.commit()
    return volunteer


def resume(uow: UnitOfWork, volunteer_id: str, clock: Clock) -> Volunteer:
    return intake.update_volunteer(uow, volunteer_id, {"status": VolunteerStatus.ACTIVE}, clock)


def resume_due(uow: UnitOfWork, clock: Clock) -> list[str]:
    """Volunteers whose pause has run out, made active again (a daily periodic task)."""
    today = clock.now().astimezone(LONDON).date()
    due = []
    with uow:
        for volunteer in uow.volunteers.where(status=VolunteerStatus.PAUSED):
            if volunteer.paused_until is not None and volunteer.paused_until <= today:
                due.append(volunteer.id)
    for volunteer_id in due:
        intake.update_volunteer(uow, volunteer_id, {"status": VolunteerStatus.ACTIVE}, clock)
    return due


def withdraw(uow: UnitOfWork, volunteer_id: str, clock: Clock) -> Volunteer:
    return intake.update_volunteer(uow, volunteer_id, {"status": VolunteerStatus.WITHDRAWN}, clock)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def export(uow: UnitOfWork, volunteer_id: str, clock: Clock) -> dict[str, Any]:
    """Everything held about a volunteer, as they would ask for it (a subject access request)."""
    with uow:
        v = _get(uow, volunteer_id)
        offer = {
            name: _iso(getattr(v, name))
            for name in (
                "id", "status", "name", "email", "phone", "kind", "home_area", "preferred_contact", "roles", "modes",
                "availability", "max_commitments", "travel_areas", "experience", "interests", "languages",
                "trainings", "access_needs", "exclusions", "excluded_teams", "consent_version", "consent_given_at",
                "created_at", "updated_at", "paused_until",
            )
        }  # fmt: skip
        matches = uow.matches.where(volunteer_id=v.id, order_by="created_at")
        requests = {r.id: r for r in uow.requests.where(id=[m.team_request_id for m in matches])}
        involvements = [
            {
                "team": requests[m.team_request_id].team_name,
                "project": requests[m.team_request_id].project_title,
                "role": m.role,
                "status": m.status,
                "introductory_chat": _iso(m.intro_at),
                # Where they were told it is: the match's own place, else the team's.
                "introductory_chat_place": m.venue
                or m.video_link
                or requests[m.team_request_id].venue
                or requests[m.team_request_id].video_link,
                "follow_up_chats": [
                    {"sequence": f.sequence, "at": _iso(f.due_at), "status": f.status}
                    for f in uow.follow_ups.where(match_id=m.id, order_by="sequence")
                ],
            }
            for m in matches
            if m.status != MatchStatus.SUGGESTED  # suggestions are the programme's drafts, not decisions about you
        ]
        session_of = {
            s.id: s
            for s in uow.programme_sessions.where(id=[b.session_id for b in uow.bookings.where(volunteer_id=v.id)])
        }
        bookings = [
            {
                "session": session_of[b.session_id].title or session_of[b.session_id].kind,
                "kind": session_of[b.session_id].kind,
                "starts_at": _iso(session_of[b.session_id].starts_at),
                "place": session_of[b.session_id].place,
                "training": session_of[b.session_id].training,
                "status": b.status,
                "booked_from_waiting_list": b.from_waiting_list,
                "attended": b.attended,
                "attendance_marked_on": _iso(b.attendance_on),
            }
            for b in uow.bookings.where(volunteer_id=v.id, order_by="created_at")
        ]
        timeline = [
            {"what": e.kind, "at": _iso(e.occurred_at)} for e in uow.events.where(volunteer_id=v.id, order_by="id")
        ]
    return {
        "exported_at": _iso(clock.now()),
        "offer": offer,
        "involvements": involvements,
        "session_bookings": bookings,
        "timeline": timeline,
    }


def erase(uow: UnitOfWork, volunteer_id: str, clock: Clock, mailer: Mailer | None = None) -> None:
    """Withdraw and anonymise (``Volunteer.erase``): what identifies the person goes; the
    counts stay, and so do the matches' dates and statuses. Copies of their emails the
    mailer keeps go too, and nothing erased lingers in the database's own files."""
    withdraw(uow, volunteer_id, clock)
    now = clock.now()
    with uow:
        v = _get(uow, volunteer_id)
        address = v.email
        v.erase(now)
        for m in uow.matches.where(volunteer_id=v.id):
            m.reject_reason = m.close_reason = None  # a coordinator's words about the person
        for token in uow.access_tokens.where(subject_id=v.id, used_at=None):  # type: ignore[attr-defined]
            token.used_at = now
        uow.events.add(Event(EventKind.VOLUNTEER_ERASED, now, volunteer_id=v.id))
        uow.commit()
    uow.purge_residue()
    if mailer is not None:
        mailer.forget(address)
