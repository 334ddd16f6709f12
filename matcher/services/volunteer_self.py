"""What volunteers do for themselves through their private link: see their
introductions and chats, pause until a date, withdraw, export, be erased."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from matcher import phones
from matcher.chat_place import ChatPlace, chat_place
from matcher.domain import (
    AuditAction,
    AuditSubject,
    Coordinator,
    Event,
    EventKind,
    FollowUp,
    FollowUpStatus,
    Match,
    MatchStatus,
    TeamRequest,
    TokenPurpose,
    Volunteer,
    VolunteerStatus,
)
from matcher.errors import Invalid, NotFound
from matcher.ports import Clock, Mailer, Texter, UnitOfWork
from matcher.programme_sessions import Booking, BookingStatus, ProgrammeSession, SessionStatus
from matcher.scheduling import LONDON
from matcher.services import audit, calls, deliveries, feedback, intake, payments, sessions, texts

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
    # (when, what, which, where) ahead of now; where only for the introductory chat
    upcoming: list[tuple[datetime, str, Involvement, ChatPlace | None]]


def _get(uow: UnitOfWork, volunteer_id: str, for_update: bool = False) -> Volunteer:
    volunteer = uow.volunteers.get(volunteer_id, for_update=for_update)
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
        upcoming: list[tuple[datetime, str, Involvement, ChatPlace | None]] = []
        for m in shown:
            chats = uow.follow_ups.where(match_id=m.id, order_by="sequence")
            inv = Involvement(m, requests[m.team_request_id], chats)
            involvements.append(inv)
            if m.status == MatchStatus.CLOSED:
                continue
            if m.intro_at is not None and m.intro_at >= now:
                where = chat_place(m, inv.request, volunteer)
                upcoming.append((m.intro_at, "Introductory chat", inv, where))
            for f in chats:
                if f.status != FollowUpStatus.CANCELLED and f.due_at >= now:
                    upcoming.append((f.due_at, f"Follow-up chat {f.sequence}", inv, None))
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
        # They asked to stop for a while, by themselves: a phone-preferring volunteer is rung.
        calls.owe_for_stopping(uow, volunteer, VolunteerStatus.PAUSED, now)
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


def withdraw(uow: UnitOfWork, volunteer_id: str, clock: Clock, by_volunteer: bool = True) -> Volunteer:
    """They stop, by themselves (a phone-preferring volunteer is then owed a call), or as the
    first step of an erasure (``by_volunteer=False``: nobody is rung who asked to be forgotten)."""
    return intake.update_volunteer(
        uow, volunteer_id, {"status": VolunteerStatus.WITHDRAWN}, clock, by_volunteer=by_volunteer
    )


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


# The export's layout, named in the file so a reader (or a program) knows what it holds;
# docs/privacy.md describes each section. Raised when a section changes meaning.
EXPORT_LAYOUT = "qimatch.volunteer-export/2"


def export(uow: UnitOfWork, volunteer_id: str, clock: Clock) -> dict[str, Any]:
    """Everything held about a volunteer, as they would ask for it (a subject access request,
    UK GDPR Art. 15): their offer, every decision about them with the reasons given, the
    suggestions the programme made with each factor of their score (profiling, Art. 22),
    the events on their timeline with their data, the emails sent to them, and the audit
    log's entries about them."""
    with uow:
        v = _get(uow, volunteer_id)
        offer = {
            name: _iso(getattr(v, name))
            for name in (
                "id", "status", "name", "email", "phone", "kind", "home_area", "preferred_contact", "roles", "modes",
                "availability", "max_commitments", "travel_areas", "experience", "interests", "languages",
                "trainings", "access_needs", "exclusions", "excluded_teams", "consent_version", "consent_given_at",
                "created_at", "updated_at", "paused_until", "consent_assisted_by", "email_confirmed_at",
                "email_confirmed_by",
            )
        }  # fmt: skip
        # Where they signed up (an outreach event's link): kept after erasure as a count, not a person.
        source = uow.outreach_events.get(v.source_event_id) if v.source_event_id else None
        offer["source"] = {"outreach_event": source.name, "held_on": _iso(source.held_on)} if source else None
        matches = uow.matches.where(volunteer_id=v.id, order_by="created_at")
        requests = {r.id: r for r in uow.requests.where(id=[m.team_request_id for m in matches])}
        chats = {m.id: uow.follow_ups.where(match_id=m.id, order_by="sequence") for m in matches}
        involvements = [
            {
                "match_id": m.id,
                "team": requests[m.team_request_id].team_name,
                "project": requests[m.team_request_id].project_title,
                "area": requests[m.team_request_id].area,
                "role": m.role,
                "status": m.status,
                "origin": m.origin,  # engine: suggested by the programme; coordinator: matched by hand
                "created_at": _iso(m.created_at),
                "updated_at": _iso(m.updated_at),
                # A coordinator's own words, as recorded: why it was turned down, or ended.
                "reject_reason": m.reject_reason,
                "close_reason": m.close_reason,
                "introductory_chat": _iso(m.intro_at),
                # Where they were told it is: the match's own place, else the team's.
                "introductory_chat_place": m.venue
                or m.video_link
                or requests[m.team_request_id].venue
                or requests[m.team_request_id].video_link,
                "follow_up_chats": [
                    {"sequence": f.sequence, "at": _iso(f.due_at), "status": f.status} for f in chats[m.id]
                ],
            }
            for m in matches
            if m.status != MatchStatus.SUGGESTED  # suggestions are listed apart, with their scores
        ]
        suggestions = [
            {
                "match_id": m.id,
                "team": requests[m.team_request_id].team_name,
                "project": requests[m.team_request_id].project_title,
                "role": m.role,
                "status": m.status,
                "origin": m.origin,
                "suggested_at": _iso(m.created_at),
                "score": m.score,
                "factors": dict(m.factors),  # the score, factor by factor: they add up to it
                "rank": m.rank,
                "proposed": m.proposed,
            }
            for m in matches
        ]
        session_of = {
            s.id: s
            for s in uow.programme_sessions.where(id=[b.session_id for b in uow.bookings.where(volunteer_id=v.id)])
        }
        booking_ids = [b.id for b in uow.bookings.where(volunteer_id=v.id)]
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
        events = uow.events.where(volunteer_id=v.id, order_by="id")
        timeline = [
            {
                "what": e.kind,
                "at": _iso(e.occurred_at),
                "match_id": e.match_id,
                "team_request_id": e.team_request_id,
                "data": dict(e.data or {}),
            }
            for e in events
        ]
        # The calls a coordinator owed or made them, with the notes (docs/calls.md).
        their_calls = calls.export_for(uow, v.id)
        # Their own answers after follow-up chats, their words included (not the team's).
        answers = feedback.export_for(uow, [m.id for m in matches], "volunteer")
        their_forms = [f.id for f in uow.feedback_forms.where(match_id=[m.id for m in matches], party="volunteer")]
        # Suggestions withdrawn before anyone decided go (their rows were drafts); the
        # timeline keeps each one's role and score, which is what remains held of them.
        history = [t for t in timeline if t["what"] in SUGGESTION_EVENTS]
        match_ids = {m.id for m in matches}
        audit_entries = [
            {"action": a.action, "at": _iso(a.at), "subject": a.subject_kind, "subject_id": a.subject_id}
            for a in uow.audit.where(order_by="at", subject_id=[v.id, *match_ids])
            if (a.subject_kind, a.subject_id) == ("volunteer", v.id)
            or (a.subject_kind == "match" and a.subject_id in match_ids)
        ]
        # Payment preference and caps, activities, payable lines (docs/payments.md).
        held = payments.personal_record(uow, v.id)
        account = held["account"]
        payment_record = {
            "account": None if account is None else {
                name: _iso(getattr(account, name))
                for name in ("preference", "cap_week_pence", "cap_four_weeks_pence", "cap_tax_year_pence",
                             "four_weeks_from", "updated_at")
            },
            "activities": [
                {name: _iso(getattr(a, name)) for name in ("id", "on", "minutes", "activity_type", "source", "match_id",
                                                          "session_id", "created_at")}
                for a in held["activities"]
            ],
            "lines": [
                {name: _iso(getattr(line, name)) for name in ("id", "kind", "on", "pence", "method", "activity_id",
                                                             "rate_pence", "rate_basis", "description", "receipt_held",
                                                             "status", "hold_reason", "over_by_pence", "approved_at",
                                                             "export_id")}
                for line in held["lines"]
            ],
        }  # fmt: skip
        line_ids = {line.id for line in held["lines"]}
        audit_entries += [
            {"action": a.action, "at": _iso(a.at), "subject": a.subject_kind, "subject_id": a.subject_id}
            for a in uow.audit.where(order_by="at", subject_kind="payment_line", subject_id=sorted(line_ids))
        ]
        # Each time they were asked whether to keep their details, and what came of it.
        retention = [
            {
                "asked_at": _iso(r.asked_at),
                "erase_on": _iso(r.due_at),
                "status": r.status,
                "kept_because": r.kept_because,
                "answered_at": _iso(r.answered_at),
            }
            for r in uow.reviews.where(volunteer_id=v.id, order_by="asked_at")
        ]
    # Read apart from the unit of work: delivery rows are read in a session of their own.
    emails = _emails_to(uow, v.id, [m.id for m in matches], [f.id for fs in chats.values() for f in fs], their_forms)
    sent_texts = _texts_to(
        uow, [m.id for m in matches], [f.id for fs in chats.values() for f in fs], their_forms, booking_ids
    )
    return {
        "layout": EXPORT_LAYOUT,
        "exported_at": _iso(clock.now()),
        "offer": offer,
        "involvements": involvements,
        "feedback": answers,
        "calls": their_calls,
        "suggestions": suggestions,
        "suggestion_history": history,
        "session_bookings": bookings,
        "timeline": timeline,
        "emails": emails,
        "texts": sent_texts,
        "audit": audit_entries,
        "retention": retention,
        "payments": payment_record,
    }


SUGGESTION_EVENTS = (EventKind.MATCH_SUGGESTED, EventKind.MATCH_SUGGESTION_WITHDRAWN)


def _emails_to(
    uow: UnitOfWork,
    volunteer_id: str,
    match_ids: list[str],
    follow_up_ids: list[str],
    feedback_form_ids: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The emails owed or sent to the volunteer (not the team's copies): kind, status, when.

    Their bodies are not kept: each is written afresh from the records when it is sent.
    """
    prefixes = [f"private_link:{TokenPurpose.VOLUNTEER_LINK}:{volunteer_id}:"]
    for m in match_ids:
        prefixes += [f"introduction:{m}:", f"invitation:{m}:", f"cancellation:{m}:"]
    prefixes += [f"follow_up:{f}:" for f in follow_up_ids]
    prefixes += [f"{feedback.LETTER}:{f}:" for f in feedback_form_ids]  # their forms and reminders
    found = []
    for d in uow.deliveries.listed(prefixes):
        letter, ids = deliveries.letter_of(d.key)
        if letter not in ("private_link", feedback.LETTER) and ids[-1] != "volunteer":
            continue  # the team's copy
        found.append(
            {
                "kind": letter,
                "about": None if letter == "private_link" else ids[0],  # the match, chat or feedback form
                "status": d.status,
                "owed_at": _iso(d.claimed_at) if d.status == "owed" else None,
                "sent_at": _iso(d.sent_at) if d.status == "sent" else None,
                "message_id": d.message_id,
            }
        )
    return found


def _texts_to(
    uow: UnitOfWork,
    match_ids: list[str],
    follow_up_ids: list[str],
    feedback_form_ids: Sequence[str],
    booking_ids: Sequence[str],
) -> list[dict[str, Any]]:
    """The texts owed or sent to the volunteer's mobile: kind, status, when, Notify's id and its
    receipt. Their words are not kept: each is written from the records when it is sent."""
    prefixes = [texts.key_for(f"introduction:{m}:") for m in match_ids]
    prefixes += [texts.key_for(f"follow_up:{f}:") for f in follow_up_ids]
    prefixes += [texts.key_for(f"{texts.FEEDBACK_LETTER}:{f}:") for f in feedback_form_ids]
    prefixes += [texts.key_for(f"{texts.SESSION_LETTER}:{b}:") for b in booking_ids]
    found = []
    for d in uow.deliveries.listed(prefixes):
        letter, ids = deliveries.letter_of(texts.email_key_of(d.key))
        found.append(
            {
                "kind": letter,
                "about": ids[0],  # the match, follow-up chat, feedback form or session booking
                "status": d.status,
                "owed_at": _iso(d.claimed_at) if d.status == "owed" else None,
                "sent_at": _iso(d.sent_at) if d.status == "sent" else None,
                "notification_id": d.message_id,  # GOV.UK Notify's, to ask them about it
                "receipt": d.receipt,
            }
        )
    return found


def erase(
    uow: UnitOfWork,
    volunteer_id: str,
    clock: Clock,
    mailer: Mailer | None = None,
    by: Coordinator | None = None,
    reason: str | None = None,
    texter: Texter | None = None,
) -> datetime:
    """Withdraw and anonymise (``Volunteer.erase``): what identifies the person goes; the
    counts stay, and so do the matches' dates and statuses. Copies of their emails the
    mailer keeps go too, and nothing erased lingers in the database's own files.

    ``by``: the coordinator who erased them at their request (by phone or letter); the
    erasure is then in the audit log, committed with it. The log holds ids and codes
    only, so nothing of the person stays there either. Returns when they were erased.
    ``reason``: a code for the timeline when it was not at their request ("retention")."""
    withdraw(uow, volunteer_id, clock, by_volunteer=False)
    now = clock.now()
    with uow:
        # Locked in the use cases' order (their matches, then the volunteer), so two erasures
        # at once are one after the other: the second finds the person gone.
        held = uow.matches.where(volunteer_id=volunteer_id, for_update=True)
        v = _get(uow, volunteer_id, for_update=True)
        address, number = v.email, phones.mobile(v.phone)
        v.erase(now)
        payments.forget(uow, v.id)  # what finance must keep stays, without the name
        for m in held:
            m.reject_reason = m.close_reason = None  # a coordinator's words about the person
        # Feedback words, theirs and the team's about them; the ratings stay for the counts.
        feedback.erase_notes(uow, [m.id for m in held])
        # Calls still owed go; calls made lose the coordinators' notes (matcher.services.calls).
        calls.erase(uow, v.id)
        for token in uow.access_tokens.where(subject_id=v.id, used_at=None):  # type: ignore[attr-defined]
            token.used_at = now
        data = {} if by is None else {"by": by.id}
        if reason:
            data["reason"] = reason
        uow.events.add(Event(EventKind.VOLUNTEER_ERASED, now, volunteer_id=v.id, data=data))
        if by is not None:
            audit.record(uow, by, AuditAction.VOLUNTEER_ERASED, AuditSubject.VOLUNTEER, v.id, clock, route="on_request")
        uow.commit()
    uow.purge_residue()
    if mailer is not None:
        mailer.forget(address)
    if texter is not None and number is not None:
        texter.forget(number)  # the folder's texts (their page's links) go with the number
    return now
