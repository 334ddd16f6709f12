"""Feedback that closes the loop: after each follow-up chat, both sides get a short form.

Once a chat's time has passed, the periodic dispatcher owes each side a form by private
link (a due row per side, which is also the due row of its one reminder). An answer is
kept once (a unique key on the form), goes on the match's timeline as codes only, and a
poor one (a low rating, a call asked for, a wish to stop) owes an alert to each of the
area's coordinators at once: an email each, through the delivery claim, exactly once.

Keys: ``feedback:<form>:<stage>`` (stage ``form`` or ``reminder``) and
``feedback_alert:<answer>:<coordinator>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from matcher.calls import CallReason, CallSubject
from matcher.config import MatchingConfig
from matcher.domain import (
    AuditAction,
    AuditSubject,
    Coordinator,
    Event,
    EventKind,
    FeedbackAnswer,
    FeedbackForm,
    FeedbackStatus,
    FollowUp,
    FollowUpStatus,
    Match,
    MatchStatus,
    TeamRequest,
    TokenPurpose,
    Volunteer,
    VolunteerStatus,
)
from matcher.errors import Concurrent, Conflict, Invalid, NotFound
from matcher.ports import Clock, Email, Letters, Mailer, UnitOfWork
from matcher.services import audit, calls, deliveries, follow_ups, links, texts
from matcher.services.visibility import visible_match

FORM, REMINDER = "form", "reminder"
LETTER, ALERT_LETTER = "feedback", "feedback_alert"
PARTIES = ("team", "volunteer")
NOTE_MAX = 4000


def delivery_key(form_id: str, stage: str) -> str:
    return deliveries.key(LETTER, form_id, stage)


def alert_key(answer_id: str, coordinator_id: str) -> str:
    return deliveries.key(ALERT_LETTER, answer_id, coordinator_id)


def _gone(volunteer: Volunteer | None) -> bool:
    # An erased or withdrawn volunteer is asked nothing more.
    return volunteer is None or volunteer.erased or volunteer.status == VolunteerStatus.WITHDRAWN


# --- The dispatcher (beat, every minute) ------------------------------------------------------


def dispatch_due(uow: UnitOfWork, clock: Clock, config: MatchingConfig) -> dict[str, int]:
    """Forms for every chat whose time has passed, and the one reminder of each unanswered form."""
    now = clock.now()
    after = timedelta(minutes=config.feedback_after_minutes)
    counts = {"asked": 0, "reminded": 0}
    with uow:
        # Locked rows: an overlapping run waits, then finds them marked and skips them.
        held = uow.follow_ups.where(
            status=[FollowUpStatus.INVITED, FollowUpStatus.REMINDED],
            feedback_at=None,
            order_by="due_at",
            for_update=True,
        )
        for follow_up in held:
            if follow_up.due_at + after > now:
                continue
            follow_up.feedback_at = now
            if follow_ups.still_wanted(uow, follow_up):
                counts["asked"] += _ask(uow, follow_up, now, config)
        for form in uow.feedback_forms.where(status=FeedbackStatus.ASKED, order_by="remind_at", for_update=True):
            if form.remind_at > now:
                continue
            # The one reminder: moved on here, so it is owed once; the sender re-checks that it
            # is still wanted (answered meanwhile, the involvement ended) and drops it if not.
            form.remind(now)
            deliveries.owe(uow, delivery_key(form.id, REMINDER), now)
            match = uow.matches.get(form.match_id)
            if form.party == "volunteer" and match is not None:  # and by text, if they prefer the phone
                texts.owe_alongside(uow, delivery_key(form.id, REMINDER), uow.volunteers.get(match.volunteer_id), now)
            if match is not None:
                uow.events.add(Event.of_match(EventKind.FEEDBACK_REMINDER_DUE, match, now, party=form.party))
            counts["reminded"] += 1
        uow.commit()
    return counts


def _ask(uow: UnitOfWork, follow_up: FollowUp, now: datetime, config: MatchingConfig) -> int:
    match = uow.matches.get(follow_up.match_id)
    assert match is not None
    volunteer = uow.volunteers.get(match.volunteer_id)
    asked = 0
    for party in PARTIES:
        if party == "volunteer" and _gone(volunteer):
            continue
        form = FeedbackForm(
            follow_up_id=follow_up.id,
            match_id=match.id,
            party=party,
            asked_at=now,
            remind_at=now + timedelta(days=config.feedback_reminder_days),
        )
        uow.feedback_forms.add(form)
        deliveries.owe(uow, delivery_key(form.id, FORM), now)
        if party == "volunteer" and volunteer is not None and calls.prefers_phone(volunteer):
            # The form still goes by email; they prefer the phone, so a coordinator rings for it too.
            calls.owe(
                uow,
                volunteer,
                CallReason.FEEDBACK,
                CallSubject.FEEDBACK_FORM,
                form.id,
                now,
                match_id=match.id,
                team_request_id=match.team_request_id,
            )
        if party == "volunteer":  # and by text, if they prefer the phone and have a mobile
            texts.owe_alongside(uow, delivery_key(form.id, FORM), volunteer, now)
        asked += 1
    uow.events.add(Event.of_match(EventKind.FEEDBACK_ASKED, match, now, sequence=follow_up.sequence, forms=asked))
    return asked


# --- Sending a form or its reminder (the worker) ----------------------------------------------


@dataclass
class FormContext:
    form: FeedbackForm
    follow_up: FollowUp
    match: Match
    request: TeamRequest
    volunteer: Volunteer


def _context(uow: UnitOfWork, form: FeedbackForm) -> FormContext | None:
    follow_up = uow.follow_ups.get(form.follow_up_id)
    match = uow.matches.get(form.match_id)
    if follow_up is None or match is None:
        return None
    request = uow.requests.get(match.team_request_id)
    volunteer = uow.volunteers.get(match.volunteer_id)
    if request is None or volunteer is None:
        return None
    return FormContext(form, follow_up, match, request, volunteer)


def send_form(
    uow: UnitOfWork,
    mailer: Mailer,
    letters: Letters,
    delivery_key_: str,
    clock: Clock,
    config: MatchingConfig,
    lease_seconds: int,
) -> int:
    """One side's form, or its reminder, with a fresh private link; 1 if it went now."""
    _, (form_id, stage) = deliveries.letter_of(delivery_key_)
    found: list[FormContext] = []

    def compose() -> Email | None:
        with uow:
            form = uow.feedback_forms.get(form_id)
            if form is None or form.status == FeedbackStatus.ANSWERED:
                return None
            ctx = _context(uow, form)
        if ctx is None or (form.party == "volunteer" and _gone(ctx.volunteer)):
            return None
        if stage == REMINDER and ctx.match.status != MatchStatus.INTRODUCED:
            return None  # the involvement ended meanwhile: no nudge about it
        found.append(ctx)
        # The secret is made only as the email is written: it never waits in a table or a message.
        secret = links.issue(
            uow,  # type: ignore[arg-type]
            TokenPurpose.FEEDBACK_FORM,
            form.id,
            clock,
            timedelta(days=config.feedback_link_days),
        )
        return letters.feedback_form(
            stage, form.party, ctx.follow_up, ctx.match, ctx.request, ctx.volunteer, secret, delivery_key_
        )

    def sent(at: datetime) -> Event:
        ctx = found[0]
        return Event.of_match(
            EventKind.EMAIL_SENT,
            ctx.match,
            at,
            letter=f"feedback_{stage}",
            to=ctx.form.party,
            sequence=ctx.follow_up.sequence,
        )

    return int(deliveries.deliver(uow, mailer, delivery_key_, compose, clock, lease_seconds, sent))


# --- The form as its holder sees it, and the answer -------------------------------------------


@dataclass
class OpenForm:
    """What the form's page shows: whose form, about which chat, and whether it is answered."""

    form: FeedbackForm
    follow_up: FollowUp
    request: TeamRequest
    greeting_name: str
    other_name: str  # the volunteer's first name for the team; the team's contact for the volunteer

    @property
    def answered(self) -> bool:
        return self.form.status == FeedbackStatus.ANSWERED


def open_form(uow: UnitOfWork, secret: str, clock: Clock) -> OpenForm | None:
    """The form a link opens, or None when the link is unknown or expired (safe for GET)."""
    token = links.peek(uow, secret, TokenPurpose.FEEDBACK_FORM, clock)  # type: ignore[arg-type]
    if token is None:
        return None
    with uow:
        form = uow.feedback_forms.get(token.subject_id)
        ctx = _context(uow, form) if form is not None else None
    if ctx is None or (ctx.form.party == "volunteer" and ctx.volunteer.erased):
        return None
    team = ctx.form.party == "team"
    return OpenForm(
        ctx.form,
        ctx.follow_up,
        ctx.request,
        greeting_name=ctx.request.contact_name if team else ctx.volunteer.first_name,
        other_name=ctx.volunteer.first_name if team else ctx.request.contact_name,
    )


@dataclass
class Answered:
    recorded: bool  # False: the form had been answered already, nothing more was kept
    poor: bool = False


def _checked(rating: Any, note: Any) -> tuple[int, str | None]:
    """The web schemas check these too; the use case holds its own line (a 422 naming the field)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        errors["rating"] = ["Choose how it is going, from 1 to 5."]
    if note is not None and (not isinstance(note, str) or len(note) > NOTE_MAX):
        errors["note"] = [f"Keep it to {NOTE_MAX} characters."]
    if errors:
        raise Invalid(errors)
    return rating, (note.strip() or None) if isinstance(note, str) else None


def answer(uow: UnitOfWork, form_id: str, answers: dict[str, Any], clock: Clock) -> Answered:
    """Keep one side's answers once; a poor answer owes each area coordinator an alert.

    Two submissions at once: the form row is locked, so the second waits and finds it
    answered; where no row lock holds, the unique key on the answer refuses the second.
    Either way the second is told politely, and nothing more is kept.
    """
    rating, note = _checked(answers.get("rating"), answers.get("note"))
    wants_call, wants_stop = bool(answers.get("wants_call")), bool(answers.get("wants_stop"))
    now = clock.now()
    try:
        with uow:
            form = uow.feedback_forms.get(form_id, for_update=True)
            if form is None:
                raise Invalid({"form": ["This form is no longer on record."]})
            if form.status == FeedbackStatus.ANSWERED or uow.feedback_answers.count(form_id=form.id):
                return Answered(recorded=False)
            kept = keep_answer(uow, form, rating, note, wants_call, wants_stop, now)
            uow.commit()
            return Answered(recorded=True, poor=kept.poor)
    except Concurrent:
        # The other submission's answer took the unique key first.
        return Answered(recorded=False)


def keep_answer(
    uow: UnitOfWork,
    form: FeedbackForm,
    rating: int,
    note: str | None,
    wants_call: bool,
    wants_stop: bool,
    now: datetime,
    by: str | None = None,
) -> FeedbackAnswer:
    """Inside the caller's unit of work, the form locked and not yet answered: the answer kept,
    on the timeline (codes only), and a poor one owes each area coordinator an alert.

    ``by``: the coordinator who took it by phone (``take_by_phone``); otherwise the form's
    holder answered it, and the calls it settles or owes follow (``_calls_after_answer``)."""
    match = uow.matches.get(form.match_id)
    follow_up = uow.follow_ups.get(form.follow_up_id)
    assert match is not None and follow_up is not None
    request = uow.requests.get(match.team_request_id)
    assert request is not None
    form.answer(now)
    kept = FeedbackAnswer(
        form_id=form.id,
        match_id=match.id,
        party=form.party,
        rating=rating,
        wants_call=wants_call,
        wants_stop=wants_stop,
        answered_at=now,
        note=note,
    )
    uow.feedback_answers.add(kept)
    # Codes only on the timeline: their words stay in the answer, which erasure clears.
    extra = {} if by is None else {"by": by}
    uow.events.add(
        Event.of_match(
            EventKind.FEEDBACK_ANSWERED,
            match,
            now,
            party=form.party,
            sequence=follow_up.sequence,
            rating=rating,
            call=wants_call,
            stop=wants_stop,
            poor=kept.poor,
            answer=kept.id,
            **extra,
        )
    )
    if form.party == "volunteer" and by is None:
        _calls_after_answer(uow, form, kept, match, now)
    if kept.poor:
        for coordinator in area_coordinators(uow, request.area):
            deliveries.owe(uow, alert_key(kept.id, coordinator.id), now)
    return kept


def take_by_phone(
    uow: UnitOfWork, form_id: str, rating: Any, wants_stop: bool, coordinator: Coordinator, now: datetime
) -> FeedbackAnswer:
    """Inside the caller's unit of work (the call's): a volunteer's answers, given on the phone
    to a coordinator, kept as their form's answer. Their words go in the call's note, not here;
    "would like a call" is moot on a call. A form they answered meanwhile is refused (409)."""
    checked, _ = _checked(rating, None)
    form = uow.feedback_forms.get(form_id, for_update=True)
    if form is None:
        raise Invalid({"rating": ["This feedback form is no longer on record."]})
    if form.status == FeedbackStatus.ANSWERED or uow.feedback_answers.count(form_id=form.id):
        raise Conflict("they answered the feedback form themselves meanwhile; their answer stands")
    return keep_answer(uow, form, checked, None, False, wants_stop, now, by=coordinator.id)


def _calls_after_answer(uow: UnitOfWork, form: FeedbackForm, kept: FeedbackAnswer, match: Match, now: datetime) -> None:
    """Inside the answer's unit of work: the call for this form is no longer owed (they
    answered it themselves); a call asked for, or a phone-preferring volunteer's wish to
    stop, is owed now."""
    calls.no_longer_owed(uow, match.volunteer_id, CallReason.FEEDBACK, form.id)
    volunteer = uow.volunteers.get(match.volunteer_id)
    if volunteer is None or volunteer.erased:
        return
    if kept.wants_call:
        reason = CallReason.ASKED_FOR_CALL
    elif kept.wants_stop and calls.prefers_phone(volunteer):
        reason = CallReason.STOPPING
    else:
        return
    calls.owe(
        uow,
        volunteer,
        reason,
        CallSubject.FEEDBACK_ANSWER,
        kept.id,
        now,
        match_id=match.id,
        team_request_id=match.team_request_id,
    )


def area_coordinators(uow: UnitOfWork, area: str) -> list[Coordinator]:
    """Who hears of a poor answer: the area's coordinators who can act on it (not a deactivated
    account, nor one invited who has not yet arrived)."""
    return [c for c in uow.coordinators.where(order_by="email") if c.covers(area) and reachable(c)]


def reachable(coordinator: Coordinator) -> bool:
    return coordinator.active and not coordinator.invited


# --- The alert to each of the area's coordinators (the worker) --------------------------------


def send_alert(
    uow: UnitOfWork,
    mailer: Mailer,
    letters: Letters,
    delivery_key_: str,
    clock: Clock,
    lease_seconds: int,
) -> int:
    _, (answer_id, coordinator_id) = deliveries.letter_of(delivery_key_)
    found: list[Match] = []

    def compose() -> Email | None:
        with uow:
            kept = uow.feedback_answers.get(answer_id)
            coordinator = uow.coordinators.get(coordinator_id)
            if kept is None or coordinator is None:
                return None
            match = uow.matches.get(kept.match_id)
            assert match is not None
            request = uow.requests.get(match.team_request_id)
            volunteer = uow.volunteers.get(match.volunteer_id)
            form = uow.feedback_forms.get(kept.form_id)
            follow_up = uow.follow_ups.get(form.follow_up_id) if form else None
        if request is None or volunteer is None or follow_up is None:
            return None
        if not coordinator.covers(request.area) or not reachable(coordinator):
            return None
        found.append(match)
        return letters.feedback_alert(coordinator, kept, follow_up, match, request, volunteer, delivery_key_)

    def sent(at: datetime) -> Event:
        return Event.of_match(EventKind.EMAIL_SENT, found[0], at, letter=ALERT_LETTER, to="coordinator")

    return int(deliveries.deliver(uow, mailer, delivery_key_, compose, clock, lease_seconds, sent))


# --- A coordinator deals with a poor answer ---------------------------------------------------


def handle(uow: UnitOfWork, answer_id: str, coordinator: Coordinator, clock: Clock) -> FeedbackAnswer:
    """Marked as dealt with: it leaves the dashboard; the timeline says who and when."""
    now = clock.now()
    with uow:
        kept = uow.feedback_answers.get(answer_id, for_update=True)
        if kept is None:
            raise NotFound("feedback answer not found")
        match, _ = visible_match(uow, kept.match_id, coordinator)  # another area's: not found
        if kept.handled_at is None:
            kept.handle(coordinator.id, now)
            uow.events.add(Event.of_match(EventKind.FEEDBACK_HANDLED, match, now, answer=kept.id, by=coordinator.id))
            audit.record(uow, coordinator, AuditAction.FEEDBACK_HANDLED, AuditSubject.MATCH, match.id, clock)
            uow.commit()
        return kept


# --- Privacy ----------------------------------------------------------------------------------


def export_for(uow: UnitOfWork, match_ids: list[str], party: str) -> list[dict[str, Any]]:
    """Inside a unit of work: one side's forms and answers on these matches, for their export."""
    out = []
    for form in uow.feedback_forms.where(match_id=match_ids, party=party, order_by="asked_at"):
        follow_up = uow.follow_ups.get(form.follow_up_id)
        found = uow.feedback_answers.where(form_id=form.id)
        kept = found[0] if found else None
        out.append(
            {
                "follow_up_chat": follow_up.sequence if follow_up else None,
                "asked_at": form.asked_at.isoformat(),
                "status": form.status,
                "answered_at": kept.answered_at.isoformat() if kept else None,
                "rating": kept.rating if kept else None,
                "wants_call": kept.wants_call if kept else None,
                "wants_stop": kept.wants_stop if kept else None,
                "note": kept.note if kept else None,
            }
        )
    return out


def erase_notes(uow: UnitOfWork, match_ids: list[str]) -> int:
    """Inside a unit of work, on erasure: both sides' words about these involvements go; the
    ratings and flags stay (they are the programme's counts, and identify nobody)."""
    cleared = 0
    for kept in uow.feedback_answers.where(match_id=match_ids):
        if kept.note is not None:
            kept.note = None
            cleared += 1
    return cleared
