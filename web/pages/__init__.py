"""The server-rendered pages: public, volunteers' own, coordinators'.

They call the same use cases as the JSON API and validate with the same
marshmallow schemas; only the shape of the input (form fields) and of the
answer (HTML) differ.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Any

from flask import Flask, get_flashed_messages, request

from matcher.rules import REASONS
from matcher.scheduling import LONDON
from web.pages.common import csrf_token, label, labels

SECRET_IN_PATH = re.compile(r"(/v/|/team/status/)[A-Za-z0-9_\-]+")

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# The API's ReDoc page loads its bundle and fonts from a CDN and styles itself inline.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; font-src 'self' https://fonts.gstatic.com; "
    "img-src 'self' data: https:; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)

EVENT_WORDS = {
    "request.submitted": "Request received",
    "request.filled": "Every place filled",
    "request.closed": "Request closed",
    "request.reopened": "Reopened: a place was given back",
    "volunteer.registered": "Offer registered",
    "volunteer.updated": "Offer changed",
    "volunteer.paused": "Paused",
    "volunteer.signed_in": "Opened their private page",
    "volunteer.erased": "Personal details erased at their request",
    "volunteer.team_excluded": "Team excluded by a coordinator, from the volunteer's own words",
    "volunteer.call_requested": "Asked to be phoned: a coordinator rings them about the introduction",
    "match.suggested": "Suggested by the matcher",
    "match.approved": "Approved by a coordinator",
    "match.rejected": "Rejected by a coordinator",
    "match.created": "Matched by a coordinator",
    "match.introduced": "Introduced: both emails sent",
    "match.closed": "Closed",
    "match.suggestion_withdrawn": "Suggestion withdrawn",
    "email.owed": "Email due to go out",
    "email.sent": "Email sent",
    "email.failed": "Email given up after five tries; reach them another way",
    "match.meeting_changed": "Introductory chat changed",
    "follow_up.scheduled": "Follow-up chat scheduled",
    "follow_up.invitation_due": "Follow-up invitation due",
    "follow_up.reminder_due": "Follow-up reminder due",
    "follow_up.cancelled": "Follow-up cancelled",
    "vocabulary.term_set": "Vocabulary changed by an admin",
}

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


class RedactSecrets(logging.Filter):
    """Private links are credentials: keep them out of the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/v/" in message or "/team/status/" in message:
            record.msg, record.args = SECRET_IN_PATH.sub(r"\1[redacted]", message), ()
        return True


def when(moment: datetime | date | None, with_time: bool = True) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        local = moment.astimezone(LONDON)
        return local.strftime("%a %-d %b %Y, %H:%M" if with_time else "%a %-d %b %Y")
    return moment.strftime("%a %-d %b %Y")


def describe(event: Any) -> str:
    words = EVENT_WORDS.get(event.kind, event.kind.replace(".", ": ").replace("_", " "))
    data = event.data or {}
    if event.kind == "volunteer.updated" and data.get("fields"):
        words += ": " + ", ".join(f.replace("_", " ") for f in data["fields"])
    elif event.kind == "volunteer.paused" and data.get("until"):
        words += " until " + when(date.fromisoformat(data["until"]))
    elif event.kind in ("match.suggested", "match.approved", "match.created") and data.get("role"):
        words += f" ({label('roles', data['role'])})"
        if data.get("overrides"):
            words += "; overriding: " + ", ".join(o.replace("_", " ") for o in data["overrides"])
    elif event.kind == "match.suggestion_withdrawn":
        if data.get("role"):
            words += f" ({label('roles', data['role'])})"
        reason = str(data.get("reason", ""))
        words += ": " + WITHDRAWAL_WORDS.get(reason, reason.replace("_", " "))
        if data.get("rules"):
            words += ": the volunteer " + "; ".join(REASONS.get(r, r.replace("_", " ")) for r in data["rules"])
    elif event.kind == "match.closed" and data.get("reason"):
        words += f" ({data['reason'].replace('_', ' ')})"
    elif event.kind in ("email.sent", "email.failed"):
        words += f": {str(data.get('letter', '')).replace('_', ' ')} to {data.get('to', '')}"
    elif event.kind.startswith("follow_up.") and data.get("sequence"):
        words += f" (chat {data['sequence']})"
    elif event.kind == "email.owed" and data.get("key"):
        words += f": {str(data['key']).split(':')[0].replace('_', ' ')}"
    elif event.kind == "vocabulary.term_set" and data.get("vocabulary"):
        words += f": {str(data['vocabulary']).replace('_', ' ')} {data.get('code', '')}"
        words += "" if data.get("active", True) else " (retired)"
    return words


def percent(value: float | None) -> str:
    return "no data" if value is None else f"{round(value * 100)}%"


def register(app: Flask) -> None:
    from web.pages import coordinator, public, volunteer

    for blueprint in (public.bp, volunteer.bp, coordinator.bp):
        app.register_blueprint(blueprint)

    app.jinja_env.globals.update(
        csrf_token=csrf_token, label=label, labels=labels, when=when, describe=describe, percent=percent,
        flashed=get_flashed_messages, zip=zip, reasons=REASONS,
    )  # fmt: skip
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    access_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactSecrets) for f in access_log.filters):
        access_log.addFilter(RedactSecrets())


def security_headers(response: Any) -> Any:
    """Headers for every answer; pages get a strict Content-Security-Policy."""
    from flask import current_app

    csp = DOCS_CSP if request.path.startswith("/api/docs") else PAGE_CSP
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure or current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response
