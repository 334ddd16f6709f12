"""Coordinators' pages: sign-in, the day's suggestions, requests, volunteers,
matches with their timelines, the follow-up calendar and the programme's figures."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from matcher.domain import AuditAction, AuditSubject, Coordinator, RequestStatus, TokenPurpose, VolunteerStatus
from matcher.errors import Conflict, Invalid, Unauthorised
from matcher.scheduling import LONDON
from matcher.services import audit, coordinators, decisions, meetings, outgoing, outreach, programme, queries
from web.limits import sign_ins
from web.pages import forms
from web.pages.charts import run_chart
from web.pages.common import (
    begin_session,
    coordinator_required,
    current_coordinator,
    end_session,
    labels,
    no_store,
    page_blueprint,
    safe_next,
    services,
    uow,
)
from web.schemas import ListArgs, MeetingIn, ReasonIn

bp = page_blueprint("coordinator", "/coordinator")


@bp.after_request
def _private(response):  # type: ignore[no-untyped-def]
    return no_store(response)


@bp.route("/sign-in", methods=["GET", "POST"])
@sign_ins
def sign_in() -> ResponseReturnValue:
    target = safe_next(request.values.get("next"), url_for("coordinator.home"))
    totp = services().settings.require_totp
    if request.method == "GET":
        if current_coordinator() is not None:
            return redirect(target)
        return render_template("coordinator/sign_in.html", form={}, errors={}, next=target, totp=totp)
    email = (request.form.get("email") or "").strip()
    password = request.form.get("password") or ""
    otp = (request.form.get("otp") or "").strip()
    errors: dict[str, list[str]] = {}
    if not email:
        errors["email"] = ["Enter your email address."]
    if not password:
        errors["password"] = ["Enter your password."]
    if totp and not otp:
        errors["otp"] = ["Enter the 6-digit code from your authenticator app, or a recovery code."]
    if not errors:
        s = services()
        try:
            coordinator = coordinators.authenticate(s.uow(), email, password[:500], s.clock, otp[:40], totp)
        except Unauthorised as refused:
            audit.sign_in(s.uow(), email, None, s.clock, via="page")
            wrong = "The email address, the password or the code is not right." if totp else None
            if refused.message == coordinators.NOT_ENROLLED:
                wrong = "Your account has no authenticator app set up yet. Ask your qimatch operator to set it up."
            errors["password"] = [wrong or "The email address or the password is not right."]
        else:
            audit.sign_in(services().uow(), email, coordinator, services().clock, via="page")
            begin_session(TokenPurpose.COORDINATOR_SESSION, coordinator.id)
            return redirect(target, 303)
    form = {"email": email}
    page = render_template("coordinator/sign_in.html", form=form, errors=errors, next=target, totp=totp)
    return page, 422


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    end_session()
    flash("You are signed out.")
    return redirect(url_for("coordinator.sign_in"), 303)


def _filters(extra_status: tuple[str, ...]) -> dict[str, Any]:
    """status / role / q / page from the query string, each checked; a bad one is dropped.

    The area is not dropped: the read model refuses one the coordinator does not look
    after (an unknown code included), as the API does, rather than show all their areas.
    """
    args: dict[str, Any] = {"area": (request.args.get("area") or "")[:60] or None}
    try:
        args.update(ListArgs().load({k: v for k, v in request.args.items() if k == "page" and v}))
    except ValidationError:
        args["page"] = 1
    status = request.args.get("status") or None
    args["status"] = status if status in extra_status else None
    role = request.args.get("role") or None
    args["role"] = role if role in labels("roles") else None
    args["q"] = (request.args.get("q") or "").strip()[:100] or None
    return args


@bp.get("/")
@coordinator_required
def home(coordinator: Coordinator) -> ResponseReturnValue:
    s = services()
    groups = queries.suggestions_by_request(s.uow(), coordinator, s.settings.matching)
    return render_template(
        "coordinator/dashboard.html",
        c=coordinator,
        groups=groups,
        counts=queries.counts(s.uow(), coordinator),
        weights=s.settings.matching.weights,
        attention=queries.feedback_needing_attention(s.uow(), coordinator),
    )


@bp.post("/matches/<match_id>/approve")
@coordinator_required
def approve(coordinator: Coordinator, match_id: str) -> ResponseReturnValue:
    s = services()
    decisions.approve(s.uow(), match_id, coordinator, s.clock)
    flash("Approved. The introductions are on their way to the team and the volunteer.")
    return redirect(safe_next(request.form.get("next"), url_for("coordinator.home")), 303)


@bp.post("/matches/<match_id>/reject")
@coordinator_required
def reject(coordinator: Coordinator, match_id: str) -> ResponseReturnValue:
    s = services()
    body, errors = forms.load(ReasonIn(), {"reason": (request.form.get("reason") or "").strip()})
    if body is None:
        queries.match_view(s.uow(), match_id, coordinator)  # another area's match: not found
        groups = queries.suggestions_by_request(s.uow(), coordinator, s.settings.matching)
        page = render_template(
            "coordinator/dashboard.html",
            c=coordinator,
            groups=groups,
            counts=queries.counts(s.uow(), coordinator),
            weights=s.settings.matching.weights,
            attention=queries.feedback_needing_attention(s.uow(), coordinator),
            reject_errors={match_id: errors.get("reason", [])},
        )
        return page, 422
    decisions.reject(s.uow(), match_id, coordinator, body["reason"], s.clock)
    flash("Rejected. The request is scored again, so someone else may be suggested.")
    return redirect(safe_next(request.form.get("next"), url_for("coordinator.home")), 303)


@bp.post("/matches/<match_id>/exclude-team")
@coordinator_required
def exclude_team(coordinator: Coordinator, match_id: str) -> ResponseReturnValue:
    s = services()
    volunteer, team = decisions.exclude_team(s.uow(), match_id, coordinator, s.clock)
    flash(
        f"Noted: {volunteer.first_name} is not to be matched with {team}. "
        "The suggestion goes when the request is scored again, in a moment."
    )
    return redirect(safe_next(request.form.get("next"), url_for("coordinator.home")), 303)


@bp.post("/requests/<request_id>/match")
@coordinator_required
def match_someone_else(coordinator: Coordinator, request_id: str) -> ResponseReturnValue:
    s = services()
    volunteer_id = (request.form.get("volunteer_id") or "").strip()
    role = (request.form.get("role") or "").strip()
    back = safe_next(request.form.get("next"), url_for("coordinator.request_page", request_id=request_id))
    if not volunteer_id or not role:
        flash("Choose the volunteer to match instead.")
        return redirect(back, 303)
    # One transaction: the suggestion it replaces is turned down only if the new match stands.
    try:
        decisions.make_match(
            s.uow(),
            request_id,
            volunteer_id,
            role,
            coordinator,
            s.settings.matching,
            s.clock,
            instead_of=request.form.get("instead_of") or None,
        )
    except Invalid as exc:
        flash("Not matched: " + " ".join(m for ms in exc.errors.values() for m in ms))
        return redirect(back, 303)
    except Conflict as exc:
        flash(f"Not matched: {exc.message}.")
        return redirect(back, 303)
    flash("Matched and approved. The introductions are on their way.")
    return redirect(back, 303)


@bp.get("/requests")
@coordinator_required
def requests_page(coordinator: Coordinator) -> ResponseReturnValue:
    f = _filters(RequestStatus.ALL)
    found = queries.list_requests(
        services().uow(), coordinator, f.get("area"), f["status"], f["role"], f["q"], f["page"]
    )
    return render_template(
        "coordinator/requests.html",
        c=coordinator,
        items=found.items,
        total=found.total,
        f=f,
        statuses=RequestStatus.ALL,
    )


@bp.get("/requests/<request_id>")
@coordinator_required
def request_page(coordinator: Coordinator, request_id: str) -> ResponseReturnValue:
    s = services()
    view = queries.request_view(s.uow(), request_id, coordinator, s.settings.matching)
    return render_template(
        "coordinator/request.html",
        c=coordinator,
        r=view.request,
        matches=view.matches,
        people=view.people,
        group=view.group,
        timeline=view.timeline,
        weights=s.settings.matching.weights,
    )


@bp.get("/requests/<request_id>/why-not/<volunteer_id>")
@coordinator_required
def why_not(coordinator: Coordinator, request_id: str, volunteer_id: str) -> ResponseReturnValue:
    s = services()
    why = queries.why_not_suggested(s.uow(), request_id, volunteer_id, coordinator, s.settings.matching)
    return render_template("coordinator/why_not.html", c=coordinator, why=why)


@bp.get("/volunteers")
@coordinator_required
def volunteers_page(coordinator: Coordinator) -> ResponseReturnValue:
    f = _filters(VolunteerStatus.ALL)
    found = queries.list_volunteers(
        services().uow(), coordinator, f.get("area"), f["status"], f["role"], f["q"], f["page"]
    )
    return render_template(
        "coordinator/volunteers.html",
        c=coordinator,
        items=found.items,
        total=found.total,
        f=f,
        statuses=VolunteerStatus.ALL,
    )


@bp.get("/volunteers/<volunteer_id>")
@coordinator_required
def volunteer_page(coordinator: Coordinator, volunteer_id: str) -> ResponseReturnValue:
    view = queries.volunteer_view(services().uow(), volunteer_id, coordinator)
    return render_template(
        "coordinator/volunteer.html",
        c=coordinator,
        v=view.volunteer,
        matches=view.matches,
        requests=view.requests,
        timeline=view.timeline,
        call_notes=view.call_notes,
        paused_until=view.paused_until,
    )


@bp.get("/matches/<match_id>")
@coordinator_required
def match_page(coordinator: Coordinator, match_id: str) -> ResponseReturnValue:
    s = services()
    view = queries.match_view(s.uow(), match_id, coordinator)
    return render_template(
        "coordinator/match.html",
        c=coordinator,
        m=view.match,
        r=view.request,
        v=view.volunteer,
        timeline=view.timeline,
        call_notes=view.call_notes,
        follow_ups=view.follow_ups,
        feedback=queries.match_feedback(s.uow(), match_id, coordinator),
        resendable=view.resendable,
        weights=s.settings.matching.weights,
        london=LONDON,
    )


@bp.post("/matches/<match_id>/resend")
@coordinator_required
def resend_email(coordinator: Coordinator, match_id: str) -> ResponseReturnValue:
    """One click for an email the mail server may never have taken, or refused."""
    s = services()
    outgoing.resend(s.uow(), match_id, request.form.get("key", ""), coordinator, s.clock)
    flash("Queued again. It goes out in a moment; the timeline shows when it was sent.")
    return redirect(url_for("coordinator.match_page", match_id=match_id), 303)


@bp.post("/matches/<match_id>/meeting")
@coordinator_required
def match_meeting(coordinator: Coordinator, match_id: str) -> ResponseReturnValue:
    """The introductory chat's time and place; a change after the introductions updates both calendars."""
    s = services()
    form = {name: (request.form.get(name) or "").strip() for name in ("intro_at", "venue", "video_link")}
    data: dict[str, object] = {"venue": form["venue"] or None, "video_link": form["video_link"] or None}
    if form["intro_at"]:
        try:  # a datetime-local field: the London wall clock
            data["intro_at"] = datetime.fromisoformat(form["intro_at"]).replace(tzinfo=LONDON).isoformat()
        except ValueError:
            data["intro_at"] = form["intro_at"]  # the schema names it
    body, errors = forms.load(MeetingIn(), data)
    try:
        if body is not None:
            meetings.set_meeting(s.uow(), match_id, coordinator, body, s.clock, s.settings.matching)
            flash("Saved. If the introductions have gone, both get an updated calendar invitation.")
    except Invalid as exc:
        errors = exc.errors
    for field, messages in errors.items():
        flash(f"Not saved ({field.replace('_', ' ')}): " + " ".join(messages))
    return redirect(url_for("coordinator.match_page", match_id=match_id), 303)


@bp.get("/calendar")
@coordinator_required
def calendar(coordinator: Coordinator) -> ResponseReturnValue:
    s = services()
    f = _filters(())
    since = s.clock.now() - timedelta(days=1)
    entries = queries.calendar(s.uow(), coordinator, since, f.get("area"))
    return render_template("coordinator/calendar.html", c=coordinator, entries=entries, f=f)


@bp.get("/programme")
@coordinator_required
def programme_page(coordinator: Coordinator) -> ResponseReturnValue:
    s = services()
    f = _filters(())
    figs = programme.figures(s.uow(), coordinator, s.clock, f.get("area"))
    charts = [(c, run_chart(c)) for c in figs.charts]
    funnel = outreach.funnel(s.uow(), coordinator, f.get("area"))
    return render_template(
        "coordinator/programme.html", c=coordinator, figs=figs, charts=charts, f=f,
        funnel=funnel, sources=outreach.sign_ups_by_source(funnel),
    )  # fmt: skip


@bp.get("/programme.csv")
@coordinator_required
def programme_csv(coordinator: Coordinator) -> ResponseReturnValue:
    s = services()
    f = _filters(())
    figs = programme.figures(s.uow(), coordinator, s.clock, f.get("area"))
    audit.record_alone(
        s.uow(),
        coordinator,
        AuditAction.PROGRAMME_EXPORTED,
        AuditSubject.PROGRAMME,
        f.get("area") or "all",
        s.clock,
        format="csv",
    )
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(programme.csv_rows(figs))
    response = current_app.response_class(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="qimatch-programme.csv"'
    return response


__all__ = ["bp", "uow"]
