"""Coordinators' pages about records: the audit log, and a person's rights exercised
through a coordinator (their data downloaded, or erased, when they ask by phone or letter).

Routes on the coordinator blueprint, kept apart from the day-to-day matching pages.
"""

from __future__ import annotations

import json

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from matcher.domain import AuditAction, AuditSubject, Coordinator
from matcher.services import on_request, queries
from web.pages.common import coordinator_required, services
from web.pages.coordinator import bp
from web.schemas import AuditListArgs

# What each action says in the log (every AuditAction: a test checks).
AUDIT_WORDS: dict[str, str] = {
    AuditAction.SIGNED_IN: "Signed in",
    AuditAction.SIGN_IN_FAILED: "Sign-in refused",
    AuditAction.MATCH_APPROVED: "Approved a suggestion",
    AuditAction.MATCH_REJECTED: "Rejected a suggestion",
    AuditAction.MATCH_MADE: "Made a match of their own",
    AuditAction.MATCH_CLOSED: "Closed a match",
    AuditAction.MATCH_MEETING_SET: "Set an introductory chat",
    AuditAction.TEAM_EXCLUDED: "Excluded a team for a volunteer",
    AuditAction.VOLUNTEER_EDITED: "Changed a volunteer's offer",
    AuditAction.VOLUNTEER_EXPORTED: "Downloaded a volunteer's data",
    AuditAction.VOLUNTEER_ERASED: "Erased a volunteer at their request",
    AuditAction.REQUEST_CLOSED: "Closed a request",
    AuditAction.TERM_SET: "Changed a vocabulary",
    AuditAction.PROGRAMME_EXPORTED: "Downloaded the programme's figures",
    AuditAction.EMAIL_RESENT: "Resent an email",
    AuditAction.OUTREACH_RECORDED: "Recorded an outreach event",
    AuditAction.OFFER_TAKEN_IN_PERSON: "Took an offer and its consent in person",
    AuditAction.MEETING_SUGGESTION_HANDLED: "Dealt with a suggested meeting",
    AuditAction.TEAM_CHAT_PUBLISHED: "Offered a chat to teams",
    AuditAction.TEAM_CHAT_CANCELLED: "Cancelled a chat with a team",
    AuditAction.COORDINATOR_INVITED: "Invited a coordinator",
    AuditAction.COORDINATOR_DEACTIVATED: "Deactivated a coordinator's account",
    AuditAction.PASSWORD_CHANGED: "Changed their password",
    AuditAction.TOKEN_REVOKED: "Revoked an API token",
    AuditAction.SIGNED_OUT_EVERYWHERE: "Signed out everywhere",
    AuditAction.FEEDBACK_HANDLED: "Dealt with poor feedback",
    AuditAction.DIGEST_SET: "Changed their daily digest",
    AuditAction.CONTENT_SAVED: "Edited the programme's text",
    AuditAction.CONTENT_REVERTED: "Brought back an earlier version of the programme's text",
    AuditAction.TERM_MOVED: "Reordered a vocabulary",
    AuditAction.PAYMENT_ACCOUNT_SET: "Changed a volunteer's payment preference or caps",
    AuditAction.RATE_SET: "Set a payment rate",
    AuditAction.ACTIVITY_RECORDED: "Recorded a volunteer's activity",
    AuditAction.EXPENSE_RECORDED: "Recorded a travel expense",
    AuditAction.LINE_APPROVED: "Approved a payment line",
    AuditAction.LINE_HELD: "Held a payment line",
    AuditAction.FINANCE_EXPORTED: "Made a finance export",
    AuditAction.FINANCE_DOWNLOADED: "Downloaded a finance export",
    AuditAction.CALL_RECORDED: "Phoned a volunteer from the call list, with a note",
}
SUBJECT_WORDS: dict[str, str] = {
    AuditSubject.VOLUNTEER: "Volunteer",
    AuditSubject.MATCH: "Match",
    AuditSubject.REQUEST: "Request",
    AuditSubject.COORDINATOR: "Coordinator account",
    AuditSubject.TERM: "Vocabulary term",
    AuditSubject.PROGRAMME: "Programme figures",
    AuditSubject.OUTREACH_EVENT: "Outreach event",
    AuditSubject.MEETING_SUGGESTION: "Suggested meeting",
    AuditSubject.TEAM_CHAT: "Chat with a team",
    AuditSubject.CONTENT: "Page or email text",
    AuditSubject.PAYMENT_LINE: "Payment line",
    AuditSubject.RATE: "Payment rate",
    AuditSubject.FINANCE_EXPORT: "Finance export",
}
FILTERS = ("coordinator", "action", "subject_kind", "subject_id", "from", "to")


@bp.get("/audit")
@coordinator_required
def audit_page(coordinator: Coordinator) -> ResponseReturnValue:
    form = {name: (request.args.get(name) or "").strip() for name in (*FILTERS, "page")}
    errors: dict[str, list[str]] = {}
    try:
        args = AuditListArgs().load({k: v for k, v in form.items() if v})
    except ValidationError as exc:
        errors = {str(k): list(v) for k, v in exc.normalized_messages().items()}  # type: ignore[union-attr]
        args = AuditListArgs().load({})
    found = queries.audit_log(
        services().uow(),
        coordinator,
        by=args.get("coordinator"),
        action=args.get("action"),
        subject_kind=args.get("subject_kind"),
        subject_id=args.get("subject_id"),
        from_day=args.get("from_"),
        to_day=args.get("to"),
        page=args["page"],
    )
    page = render_template(
        "coordinator/audit.html",
        c=coordinator,
        entries=found.items,
        total=found.total,
        page=found.page,
        pages=max(1, -(-found.total // found.per_page)),
        people=found.coordinators,
        form=form,
        errors=errors,
        actions=list(AUDIT_WORDS.items()),
        subjects=list(SUBJECT_WORDS.items()),
        action_words=AUDIT_WORDS,
        subject_words=SUBJECT_WORDS,
        subject_link=_subject_link,
        query={k: v for k, v in form.items() if v and k != "page" and k not in errors},
    )
    return page, 422 if errors else 200


def _subject_link(kind: str, subject_id: str | None) -> str | None:
    """Where a subject's own page is, for the kinds that have one."""
    if not subject_id:
        return None
    if kind == AuditSubject.VOLUNTEER:
        return url_for("coordinator.volunteer_page", volunteer_id=subject_id)
    if kind == AuditSubject.MATCH:
        return url_for("coordinator.match_page", match_id=subject_id)
    if kind == AuditSubject.REQUEST:
        return url_for("coordinator.request_page", request_id=subject_id)
    return None


@bp.get("/volunteers/<volunteer_id>/data.json")
@coordinator_required
def volunteer_data(coordinator: Coordinator, volunteer_id: str) -> ResponseReturnValue:
    """Everything held about a volunteer, for a subject access request made by phone or letter."""
    data = on_request.export_for(services().uow(), volunteer_id, coordinator, services().clock)
    response = current_app.response_class(json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="volunteer-{volunteer_id}.json"'
    return response


@bp.get("/volunteers/<volunteer_id>/erase")
@coordinator_required
def erase_page(coordinator: Coordinator, volunteer_id: str) -> ResponseReturnValue:
    """The confirm step before an erasure: what goes, what stays."""
    view = queries.volunteer_view(services().uow(), volunteer_id, coordinator)
    return render_template("coordinator/erase.html", c=coordinator, v=view.volunteer, errors={})


@bp.post("/volunteers/<volunteer_id>/erase")
@coordinator_required
def erase(coordinator: Coordinator, volunteer_id: str) -> ResponseReturnValue:
    s = services()
    if request.form.get("confirm") != "yes":
        view = queries.volunteer_view(s.uow(), volunteer_id, coordinator)
        errors = {"confirm": ["Tick the box to confirm that the person asked for their details to be erased."]}
        return render_template("coordinator/erase.html", c=coordinator, v=view.volunteer, errors=errors), 422
    on_request.erase_for(s.uow(), volunteer_id, coordinator, s.clock, s.mailer, s.texts)
    flash("Erased. Their details are gone; the programme's figures keep the count. It is in the audit log.")
    return redirect(url_for("coordinator.volunteers_page"), 303)
