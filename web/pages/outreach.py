"""Outreach pages: coordinators record events and take offers in person; anyone signs
up through an event's link or tells the team about a meeting worth attending."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from matcher.domain import Coordinator
from matcher.errors import NotFound
from matcher.outreach import OutreachKind
from matcher.services import intake, outreach
from web.limits import limiter, submission_limit
from web.outreach_schemas import MeetingSuggestionIn, OutreachEventIn
from web.pages import forms
from web.pages.common import coordinator_required, no_store, page_blueprint, services
from web.qr import FORMATS, qr_code, sign_up_url
from web.schemas import VolunteerIn

bp = page_blueprint("outreach")
KIND_WORDS = {
    OutreachKind.STALL: "A stall",
    OutreachKind.COMMUNITY_MEETING: "A community meeting",
    OutreachKind.TALK: "A talk",
    OutreachKind.OTHER: "Something else",
}


@bp.after_request
def _private(response):  # type: ignore[no-untyped-def]
    # Coordinators' outreach pages list suggesters' addresses: never cached.
    return no_store(response) if request.path.startswith("/coordinator/") else response


# --- Coordinators ------------------------------------------------------------------------------


@bp.get("/coordinator/outreach")
@coordinator_required
def events_page(coordinator: Coordinator) -> ResponseReturnValue:
    s = services()
    page = outreach.list_events(s.uow(), coordinator, per_page=200)
    suggestions = outreach.open_suggestions(s.uow(), coordinator)
    return render_template(
        "coordinator/outreach.html", c=coordinator, events=page.items, suggestions=suggestions, kinds=KIND_WORDS
    )


def _event_form(form: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in ("name", "held_on", "area", "kind", "notes"):
        value = (form.get(name) or "").strip()
        if value:
            data[name] = value
    reached = (form.get("people_reached") or "").strip()
    if reached:
        data["people_reached"] = int(reached) if reached.isdigit() else reached
    return data


@bp.route("/coordinator/outreach/new", methods=["GET", "POST"])
@coordinator_required
def new_event(coordinator: Coordinator) -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        fields, errors = forms.load(OutreachEventIn(), _event_form(request.form))
        if fields is not None:
            s = services()
            event = outreach.record_event(s.uow(), fields, coordinator, s.clock)
            flash("Event recorded. Its sign-up link and QR code are below.")
            return redirect(url_for("outreach.event_page", event_id=event.id), 303)
    page = render_template("coordinator/outreach_new.html", c=coordinator, form=request.form, errors=errors,
                           kinds=KIND_WORDS)  # fmt: skip
    return page, 422 if errors else 200


@bp.get("/coordinator/outreach/<event_id>")
@coordinator_required
def event_page(coordinator: Coordinator, event_id: str) -> ResponseReturnValue:
    view = outreach.get_event(services().uow(), event_id, coordinator)
    return render_template(
        "coordinator/outreach_event.html", c=coordinator, view=view, link=sign_up_url(view.event), kinds=KIND_WORDS
    )


@bp.get("/coordinator/outreach/<event_id>/qr.<kind>")
@coordinator_required
def event_qr(coordinator: Coordinator, event_id: str, kind: str) -> ResponseReturnValue:
    if kind not in FORMATS:
        raise NotFound("ask for qr.svg or qr.png")
    view = outreach.get_event(services().uow(), event_id, coordinator)
    response = current_app.response_class(qr_code(view.event, kind), mimetype=FORMATS[kind])
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="sign-up-{view.event.code}.{kind}"'
    return response


@bp.route("/coordinator/outreach/<event_id>/sign-up", methods=["GET", "POST"])
@coordinator_required
def assisted_sign_up(coordinator: Coordinator, event_id: str) -> ResponseReturnValue:
    """An offer made in person at the event, typed in by the coordinator who took the consent."""
    s = services()
    view = outreach.get_event(s.uow(), event_id, coordinator)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        fields = forms.offer_fields(request.form, registering=True)
        fields["source"] = view.event.id
        fields["consent"]["assisted"] = True
        offer, errors = forms.load(VolunteerIn(), fields)
        if offer is not None:
            try:
                volunteer = intake.register_volunteer(s.uow(), offer, s.clock, entered_by=coordinator)
            except intake.AlreadyRegistered:
                errors = {"email": ["This address already has an offer: find the person under Volunteers."]}
            else:
                flash(f"{volunteer.name}'s offer is recorded, with their consent taken by you today.")
                return redirect(url_for("outreach.event_page", event_id=event_id), 303)
    page = render_template(
        "public/volunteer_sign_up.html", form=request.form, errors=errors, assisted=True, event=view.event,
        action=url_for("outreach.assisted_sign_up", event_id=event_id),
    )  # fmt: skip
    return no_store(current_app.make_response((page, 422 if errors else 200)))


@bp.post("/coordinator/outreach/suggestions/<suggestion_id>/handled")
@coordinator_required
def suggestion_handled(coordinator: Coordinator, suggestion_id: str) -> ResponseReturnValue:
    s = services()
    suggestion = outreach.handle_suggestion(s.uow(), suggestion_id, coordinator, s.clock)
    flash(f"“{suggestion.meeting}” is marked as dealt with.")
    return redirect(url_for("outreach.events_page"), 303)


# --- Anyone ------------------------------------------------------------------------------------


@bp.get("/join/<code>")
def join(code: str) -> ResponseReturnValue:
    """An event's sign-up link (its QR code): the sign-up form, with the event as its source."""
    event = outreach.event_for_code(services().uow(), code)
    if event is None:
        return redirect(url_for("public.volunteer_sign_up"))  # a mistyped code still reaches the form
    return render_template("public/volunteer_sign_up.html", form={}, errors={}, event=event)


@bp.route("/suggest-a-meeting", methods=["GET", "POST"])
@limiter.limit(submission_limit, methods=["POST"])
def suggest_meeting() -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = {k: v.strip() for k in ("meeting", "area", "details", "why", "contact_email")
                if (v := request.form.get(k) or "").strip()}  # fmt: skip
        fields, errors = forms.load(MeetingSuggestionIn(), data)
        if fields is not None:
            s = services()
            outreach.suggest_meeting(s.uow(), fields, s.clock)
            return redirect(url_for("outreach.suggestion_thanks"), 303)
    page = render_template("public/suggest_meeting.html", form=request.form, errors=errors)
    return page, 422 if errors else 200


@bp.get("/suggest-a-meeting/thanks")
def suggestion_thanks() -> ResponseReturnValue:
    return render_template("public/suggest_meeting_thanks.html")


__all__ = ["bp"]
