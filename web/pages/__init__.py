"""The server-rendered pages: public, volunteers' own, coordinators'.

They call the same use cases as the JSON API and validate with the same
marshmallow schemas; only the shape of the input (form fields) and of the
answer (HTML) differ.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, get_flashed_messages, request

from matcher import phones
from matcher.calls import CallReason, CallSubject
from matcher.domain import EventKind
from matcher.rules import REASONS
from matcher.scheduling import LONDON
from web.access_log import redact_request_logs
from web.pages import design_system
from web.pages.common import csrf_token, label, labels

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

# What each kind of event says on a timeline (every EventKind: a test checks).
EVENT_WORDS: dict[str, str] = {
    EventKind.REQUEST_SUBMITTED: "Request received",
    EventKind.REQUEST_FILLED: "Every place filled",
    EventKind.REQUEST_CLOSED: "Request closed",
    EventKind.REQUEST_REOPENED: "Reopened: a place was given back",
    EventKind.VOLUNTEER_REGISTERED: "Offer registered",
    EventKind.VOLUNTEER_UPDATED: "Offer changed",
    EventKind.VOLUNTEER_PAUSED: "Paused",
    EventKind.VOLUNTEER_SIGNED_IN: "Opened their private page",
    EventKind.VOLUNTEER_EMAIL_CONFIRMED: "Email address confirmed through their private link: now matchable",
    EventKind.VOLUNTEER_ERASED: "Personal details erased at their request",
    EventKind.VOLUNTEER_TEAM_EXCLUDED: "Team excluded by a coordinator, from the volunteer's own words",
    EventKind.VOLUNTEER_CALL_REQUESTED: "Asked to be phoned: a coordinator rings them about the introduction",
    EventKind.MATCH_SUGGESTED: "Suggested by the matcher",
    EventKind.MATCH_APPROVED: "Approved by a coordinator",
    EventKind.MATCH_REJECTED: "Rejected by a coordinator",
    EventKind.MATCH_CREATED: "Matched by a coordinator",
    EventKind.MATCH_INTRODUCED: "Introduced: both emails sent",
    EventKind.MATCH_CLOSED: "Closed",
    EventKind.MATCH_SUGGESTION_WITHDRAWN: "Suggestion withdrawn",
    EventKind.EMAIL_OWED: "Email due to go out",
    EventKind.EMAIL_SENT: "Email sent",
    EventKind.EMAIL_FAILED: "Email not delivered; reach them another way",
    EventKind.EMAIL_UNCERTAIN: "Email possibly sent: the mail server never answered; resend it if it did not arrive",
    EventKind.TEXT_OWED: "Text due to go out",
    EventKind.TEXT_SENT: "Text sent",
    EventKind.TEXT_FAILED: "Text not sent; reach them another way",
    EventKind.TEXT_UNCERTAIN: "Text possibly sent: GOV.UK Notify never answered; ring them if it matters",
    EventKind.TEXT_UNDELIVERED: "Text not delivered",
    EventKind.MATCH_MEETING_CHANGED: "Introductory chat changed",
    EventKind.FOLLOW_UP_SCHEDULED: "Follow-up chat scheduled",
    EventKind.FOLLOW_UP_INVITATION_DUE: "Follow-up invitation due",
    EventKind.FOLLOW_UP_REMINDER_DUE: "Follow-up reminder due",
    EventKind.FOLLOW_UP_CANCELLED: "Follow-up cancelled",
    EventKind.VOCABULARY_TERM_SET: "Vocabulary changed by an admin",
    EventKind.FEEDBACK_ASKED: "Feedback forms sent to both sides",
    EventKind.FEEDBACK_REMINDER_DUE: "Feedback reminder due",
    EventKind.FEEDBACK_ANSWERED: "Feedback answered",
    EventKind.FEEDBACK_HANDLED: "Poor feedback dealt with by a coordinator",
    EventKind.TEAM_CHAT_BOOKED: "Informal chat about involvement booked",
    EventKind.TEAM_CHAT_CANCELLED: "Informal chat about involvement cancelled",
    EventKind.RETENTION_ASKED: "Asked by email whether to keep their details: no activity for the retention period",
    EventKind.RETENTION_KEPT: "Details kept",
    EventKind.REQUEST_CONTACT_ERASED: "Contact's details erased: closed for longer than the retention period",
    EventKind.SESSION_SCHEDULED: "Session scheduled",
    EventKind.SESSION_CHANGED: "Session's time or place changed",
    EventKind.SESSION_CANCELLED: "Session cancelled",
    EventKind.SESSION_BOOKED: "Booked a place at a session",
    EventKind.SESSION_WAITLISTED: "On a session's waiting list",
    EventKind.SESSION_MOVED_UP: "Moved up from a session's waiting list: a place is booked",
    EventKind.SESSION_BOOKING_CANCELLED: "Session booking cancelled",
    EventKind.SESSION_ATTENDANCE_MARKED: "Attendance at a session marked",
    EventKind.VOLUNTEER_TRAINING_VERIFIED: "Training verified by attendance",
    EventKind.CALL_OWED: "A call is owed: on the call list",
    EventKind.CALL_MADE: "Phoned by a coordinator",
}

KEPT_WORDS = {"answered": "they answered the email", "active": "they were active again before the date"}

# Why a suggestion was withdrawn (matcher.domain.WithdrawalReason), as a coordinator reads it.
WITHDRAWAL_WORDS = {
    "no_longer_eligible": "no longer eligible",
    "better_candidates": "others fit the open places better",
    "volunteer_paused": "the volunteer paused",
    "volunteer_withdrew": "the volunteer withdrew",
    "role_filled": "every place for this role is filled",
    "request_filled": "every place is filled",
    "request_closed": "the request was closed",
}


def when(moment: datetime | date | None, with_time: bool = True) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        local = moment.astimezone(LONDON)
        return local.strftime("%a %-d %b %Y, %H:%M" if with_time else "%a %-d %b %Y")
    return moment.strftime("%a %-d %b %Y")


CLOSE_WORDS = {
    "by_coordinator": "by a coordinator; their note is on the match",
    "request_closed": "the request closed",
    "volunteer_withdrew": "the volunteer withdrew",
}


# What Notify's final receipts mean, for the coordinator who must now ring instead.
RECEIPT_WORDS = {
    "permanent-failure": "the number is not in use, or is wrong; check it with them",
    "temporary-failure": "the phone was off or out of signal for 3 days",
    "technical-failure": "a fault at GOV.UK Notify, so it was not sent",
}


def describe(event: Any) -> str:
    words = EVENT_WORDS.get(event.kind, event.kind.replace(".", ": ").replace("_", " "))
    data = event.data or {}
    if event.kind == EventKind.VOLUNTEER_REGISTERED and data.get("confirmed_by"):
        words += " by a coordinator, who vouched for the email address"
    elif event.kind == EventKind.VOLUNTEER_UPDATED and data.get("fields"):
        words += ": " + ", ".join(f.replace("_", " ") for f in data["fields"])
    elif event.kind == EventKind.VOLUNTEER_PAUSED and data.get("until"):
        words += " until " + when(date.fromisoformat(data["until"]))
    elif event.kind in (EventKind.MATCH_SUGGESTED, EventKind.MATCH_APPROVED, EventKind.MATCH_CREATED) and data.get(
        "role"
    ):
        words += f" ({label('roles', data['role'])})"
        if data.get("overrides"):
            words += "; overriding: " + ", ".join(o.replace("_", " ") for o in data["overrides"])
    elif event.kind == EventKind.MATCH_SUGGESTION_WITHDRAWN:
        if data.get("role"):
            words += f" ({label('roles', data['role'])})"
        reason = str(data.get("reason", ""))
        words += ": " + WITHDRAWAL_WORDS.get(reason, reason.replace("_", " "))
        if data.get("rules"):
            words += ": the volunteer " + "; ".join(REASONS.get(r, r.replace("_", " ")) for r in data["rules"])
    elif event.kind == EventKind.MATCH_CLOSED and data.get("reason"):
        words += f" ({CLOSE_WORDS.get(data['reason'], data['reason'].replace('_', ' '))})"
    elif event.kind in (EventKind.EMAIL_SENT, EventKind.EMAIL_FAILED, EventKind.EMAIL_UNCERTAIN):
        words += f": {str(data.get('letter', '')).replace('_', ' ')} to {data.get('to', '')}"
        if data.get("reason") == "refused":
            words += " (the mail server refused the address)"
        elif event.kind == EventKind.EMAIL_FAILED:
            words += " (given up after five tries)"
    elif event.kind in (EventKind.TEXT_SENT, EventKind.TEXT_FAILED, EventKind.TEXT_UNCERTAIN):
        words += f": {str(data.get('letter', '')).replace('_', ' ')} to the volunteer"
        if data.get("reason") == "refused":
            words += " (GOV.UK Notify refused it)"
    elif event.kind == EventKind.TEXT_UNDELIVERED:
        ending = f" ending {data['ending']}" if data.get("ending") else ""
        why = RECEIPT_WORDS.get(str(data.get("receipt", "")), "GOV.UK Notify could not deliver it")
        letter = str(data.get("letter", "")).replace("_", " ")
        words = f"The {letter} text to the mobile{ending} was not delivered: {why}"
    elif event.kind == EventKind.FEEDBACK_ANSWERED:
        words += f" by the {data.get('party', '')} (chat {data.get('sequence', '')}): {data.get('rating')} out of 5"
        flags = [w for w, on in (("would like a call", data.get("call")), ("wants to stop", data.get("stop"))) if on]
        words += "".join(f"; {f}" for f in flags)
        if data.get("by"):
            words += ", by phone to a coordinator"
        if data.get("poor"):
            words += " (coordinators alerted)"
    elif event.kind == EventKind.FEEDBACK_ASKED and data.get("sequence"):
        words += f" (chat {data['sequence']})"
    elif event.kind == EventKind.FEEDBACK_REMINDER_DUE and data.get("party"):
        words += f" (to the {data['party']})"
    elif event.kind.startswith("follow_up.") and data.get("sequence"):
        words += f" (chat {data['sequence']})"
    elif event.kind == EventKind.EMAIL_OWED and data.get("key"):
        words += f": {str(data['key']).split(':')[0].replace('_', ' ')}"
    elif event.kind == EventKind.RETENTION_KEPT and data.get("because"):
        words += f": {KEPT_WORDS.get(data['because'], data['because'])}"
    elif event.kind == EventKind.VOLUNTEER_ERASED and data.get("reason") == "retention":
        words = "Personal details erased: no activity for the retention period, and no answer to the email"
    elif event.kind in (EventKind.CALL_OWED, EventKind.CALL_MADE) and data.get("reason"):
        reason, subject = str(data["reason"]), str(data.get("subject", ""))
        words += f" ({CallReason.WORDS.get(reason, reason).lower()})"
        if event.kind == EventKind.CALL_OWED and (reason, subject) in CallSubject.WHY:
            words += f": {CallSubject.WHY[(reason, subject)]}"
    elif event.kind == EventKind.VOCABULARY_TERM_SET and data.get("vocabulary"):
        words += f": {str(data['vocabulary']).replace('_', ' ')} {data.get('code', '')}"
        words += "" if data.get("active", True) else " (retired)"
    return words


def percent(value: float | None) -> str:
    return "no data" if value is None else f"{round(value * 100)}%"


def register(app: Flask) -> None:
    # records, coordinator_feedback, content_admin and calls add their routes to the coordinator's blueprint.
    from web.pages import (
        accounts,
        calls,
        content_admin,
        coordinator,
        coordinator_feedback,
        feedback,
        keep,
        outreach,
        payments,
        public,
        records,
        sessions,
        team_chats,
        volunteer,
    )

    assert records.bp is coordinator.bp  # the record pages' routes are on the coordinator blueprint
    assert coordinator_feedback.bp is coordinator.bp  # and so are the feedback and digest pages'
    assert content_admin.bp is coordinator.bp
    assert calls.bp is coordinator.bp  # the call list's routes too

    for blueprint in (
        public.bp, volunteer.bp, coordinator.bp, sessions.bp, accounts.bp, outreach.bp, team_chats.bp, keep.bp,
        feedback.bp,
        payments.bp,
    ):  # fmt: skip
        app.register_blueprint(blueprint)

    app.jinja_env.globals.update(
        csrf_token=csrf_token, label=label, labels=labels, when=when, describe=describe, percent=percent,
        flashed=get_flashed_messages, zip=zip, reasons=REASONS, national_phone=phones.national,
    )  # fmt: skip
    app.jinja_env.filters["todate"] = date.fromisoformat  # dates kept as ISO text in JSON columns
    design_system.register(app)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    # Request lines and paths in any log: no query strings (searches hold names and
    # addresses), no link secrets.
    redact_request_logs(app.logger)


def security_headers(response: Any) -> Any:
    """Headers for every answer; pages get a strict Content-Security-Policy."""
    from flask import current_app

    # One policy for every page, the API's docs page too: it is served from the package.
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure or current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response
