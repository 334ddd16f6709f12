"""The call list's use cases: a call owed (inside what owes it), a call made, and privacy.

``owe`` runs inside the unit of work of whatever makes the call owed (an approval, a
feedback form sent, an answer, a volunteer stopping), so the call and its cause are
committed together or not at all: no separate job looks for calls and none is missed.
It owes one call per volunteer, reason and subject; the store's unique key holds that too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from matcher.calls import NOTE_MAX, Call, CallReason, CallSubject
from matcher.domain import AuditAction, AuditSubject, Coordinator, Event, EventKind, Volunteer
from matcher.errors import Invalid, NotFound
from matcher.ports import Clock, UnitOfWork
from matcher.scheduling import LONDON
from matcher.services import audit
from matcher.services.visibility import visible_match, visible_volunteer

PHONE = "phone"


def prefers_phone(volunteer: Volunteer | None) -> bool:
    return volunteer is not None and not volunteer.erased and volunteer.preferred_contact == PHONE


def owe(
    uow: UnitOfWork,
    volunteer: Volunteer,
    reason: str,
    subject_kind: str,
    subject_id: str,
    now: datetime,
    match_id: str | None = None,
    team_request_id: str | None = None,
) -> Call | None:
    """Inside the caller's unit of work: a call owed, unless this one is owed (or made) already."""
    assert reason in CallReason.ALL and subject_kind in CallSubject.ALL
    if uow.calls.count(volunteer_id=volunteer.id, reason=reason, subject_id=subject_id):
        return None
    call = Call(volunteer.id, reason, subject_kind, subject_id, now, match_id=match_id)
    uow.calls.add(call)
    uow.events.add(
        Event(
            EventKind.CALL_OWED,
            now,
            volunteer_id=volunteer.id,
            match_id=match_id,
            team_request_id=team_request_id,
            data={"call": call.id, "reason": reason, "subject": subject_kind},
        )
    )
    return call


def pause_subject(now: datetime) -> str:
    """One call per London day a volunteer pauses: pausing again that day owes nothing more."""
    return f"pause-{now.astimezone(LONDON).date().isoformat()}"


def owe_for_stopping(uow: UnitOfWork, volunteer: Volunteer, status: str, now: datetime) -> Call | None:
    """Inside the caller's unit of work: a phone-preferring volunteer withdrew or paused by themselves."""
    if not prefers_phone(volunteer):
        return None
    if status == "withdrawn":
        return owe(uow, volunteer, CallReason.STOPPING, CallSubject.WITHDRAWAL, volunteer.id, now)
    if status == "paused":
        return owe(uow, volunteer, CallReason.STOPPING, CallSubject.PAUSE, pause_subject(now), now)
    return None


def no_longer_owed(uow: UnitOfWork, volunteer_id: str, reason: str, subject_id: str) -> int:
    """Inside the caller's unit of work: an owed call whose cause went away (the volunteer
    answered their feedback form themselves) leaves the list; a call made stays."""
    gone = 0
    for call in uow.calls.where(volunteer_id=volunteer_id, reason=reason, subject_id=subject_id, called_at=None):
        uow.calls.delete(call)
        gone += 1
    return gone


def checked_note(note: Any) -> str:
    """The note is required, and short: the web schemas check it too (a 422 naming ``note``)."""
    if not isinstance(note, str) or not note.strip():
        raise Invalid({"note": ["Write a note about the call: what was said, and what happens next."]})
    if len(note) > NOTE_MAX:
        raise Invalid({"note": [f"Keep the note to {NOTE_MAX} characters."]})
    return note.strip()


def visible_call(uow: UnitOfWork, call_id: str, coordinator: Coordinator, for_update: bool = False) -> Call:
    """A call the coordinator may see (its match's area, else the volunteer rule); else not found."""
    call = uow.calls.get(call_id)
    if call is None:
        raise NotFound("call not found")
    try:
        if call.match_id is not None:
            visible_match(uow, call.match_id, coordinator)
        else:
            visible_volunteer(uow, call.volunteer_id, coordinator)
    except NotFound:
        raise NotFound("call not found") from None
    if for_update:
        # Locked after the visibility reads (the call is a leaf: nothing is locked after it).
        call = uow.calls.get(call_id, for_update=True) or call
    return call


def record(
    uow: UnitOfWork,
    call_id: str,
    coordinator: Coordinator,
    note: Any,
    clock: Clock,
    rating: Any = None,
    wants_stop: bool = False,
) -> Call:
    """The coordinator rang: the call is done, with their note, on the timeline and the audit log.

    Marking it again is refused (409), so a second note never replaces the first; the
    locked row makes two coordinators at once one after the other. On a feedback call,
    ``rating`` (1 to 5) and ``wants_stop`` are the volunteer's answers given on the phone:
    kept as their form's answer in the same transaction (``feedback.take_by_phone``)."""
    text = checked_note(note)
    now = clock.now()
    with uow:
        call = visible_call(uow, call_id, coordinator)
        if rating is not None or wants_stop:
            if call.reason != CallReason.FEEDBACK:
                raise Invalid({"rating": ["Only a feedback call takes their answers: put anything else in the note."]})
            if not call.done:
                # The form's lock before the call's, as a volunteer answering it themselves takes them.
                from matcher.services import feedback  # feedback owes calls: imported here, not at the top

                feedback.take_by_phone(uow, call.subject_id, rating, wants_stop, coordinator, now)
        call = visible_call(uow, call_id, coordinator, for_update=True)
        call.mark_called(coordinator.id, text, now)
        match = uow.matches.get(call.match_id) if call.match_id else None
        uow.events.add(
            Event(
                EventKind.CALL_MADE,
                now,
                volunteer_id=call.volunteer_id,
                match_id=call.match_id,
                team_request_id=match.team_request_id if match else None,
                data={"call": call.id, "reason": call.reason, "subject": call.subject_kind, "by": coordinator.id},
            )
        )
        audit.record(
            uow,
            coordinator,
            AuditAction.CALL_RECORDED,
            AuditSubject.VOLUNTEER,
            call.volunteer_id,
            clock,
            call=call.id,
            reason=call.reason,
        )
        uow.commit()
        return call


# --- Privacy ----------------------------------------------------------------------------------


def export_for(uow: UnitOfWork, volunteer_id: str) -> list[dict[str, Any]]:
    """Inside a unit of work: the person's calls, owed and made, with the coordinators' notes."""
    return [
        {
            "id": c.id,
            "reason": c.reason,
            "about": c.subject_kind,
            "match_id": c.match_id,
            "owed_at": c.owed_at.isoformat(),
            "called_at": c.called_at.isoformat() if c.called_at else None,
            "note": c.note,
        }
        for c in uow.calls.where(volunteer_id=volunteer_id, order_by="owed_at")
    ]


def erase(uow: UnitOfWork, volunteer_id: str) -> dict[str, int]:
    """Inside a unit of work, on erasure: the calls still owed go (there is nobody to ring, and
    they asked to be forgotten); the calls made keep their dates and reasons (the programme's
    counts) without the notes, which are a coordinator's words about the person."""
    counts = {"removed": 0, "cleared": 0}
    for call in uow.calls.where(volunteer_id=volunteer_id):
        if not call.done:
            uow.calls.delete(call)
            counts["removed"] += 1
        elif call.note is not None:
            call.note = None
            counts["cleared"] += 1
    return counts
