"""Informal chats about involvement, as pages: coordinators publish free half hours; a
team books one from the home page, or from its request's private status page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from matcher.domain import Coordinator, TokenPurpose
from matcher.errors import Conflict, Invalid
from matcher.scheduling import LONDON
from matcher.services import links, queries, team_chats
from web.limits import limiter, submission_limit
from web.pages import forms
from web.pages.common import coordinator_required, no_store, page_blueprint, services, uow
from web.team_chat_schemas import TeamChatBookingIn, TeamChatIn

bp = page_blueprint("team_chat_pages")


@bp.after_request
def _private(response):  # type: ignore[no-untyped-def]
    return no_store(response) if request.path.startswith(("/coordinator/", "/team/status/")) else response


# --- Coordinators publish free half hours ------------------------------------------------------


def _slot_form(form: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    day, at = (form.get("day") or "").strip(), (form.get("time") or "").strip()
    if day or at:
        try:
            local = datetime.fromisoformat(f"{day}T{at}")
            data["starts_at"] = local.replace(tzinfo=LONDON).isoformat()
        except ValueError:
            data["starts_at"] = f"{day} {at}"  # the schema names it
    for name in ("area", "place"):
        if value := (form.get(name) or "").strip():
            data[name] = value
    return data


@bp.route("/coordinator/team-chats", methods=["GET", "POST"])
@coordinator_required
def coordinator_chats(coordinator: Coordinator) -> ResponseReturnValue:
    s = services()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        fields, errors = forms.load(TeamChatIn(), _slot_form(request.form))
        if fields is not None:
            try:
                team_chats.publish(s.uow(), fields, coordinator, s.clock)
            except Invalid as refused:
                errors = {("day" if k == "starts_at" else k): v for k, v in refused.errors.items()}
            else:
                flash("The slot is published: teams in that area can book it.")
                return redirect(url_for("team_chat_pages.coordinator_chats"), 303)
        errors = {("day" if k == "starts_at" else k): v for k, v in errors.items()}
    chats = team_chats.for_coordinator(s.uow(), coordinator, s.clock)
    page = render_template("coordinator/team_chats.html", c=coordinator, chats=chats, form=request.form, errors=errors)
    return page, 422 if errors else 200


@bp.post("/coordinator/team-chats/<chat_id>/cancel")
@coordinator_required
def cancel_chat(coordinator: Coordinator, chat_id: str) -> ResponseReturnValue:
    s = services()
    chat = team_chats.cancel(s.uow(), chat_id, coordinator, s.clock)
    flash("Cancelled; the team has been sent a calendar cancellation." if chat.team_name else "The slot is withdrawn.")
    return redirect(url_for("team_chat_pages.coordinator_chats"), 303)


# --- Teams book one ----------------------------------------------------------------------------


def _booking_form(form: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"contact": {}}
    if value := (form.get("team_name") or "").strip():
        data["team_name"] = value
    for name in ("name", "email"):
        if value := (form.get(f"contact.{name}") or "").strip():
            data["contact"][name] = value
    if value := (form.get("about") or "").strip():
        data["about"] = value
    return data


def _book(
    chat_id: str, booking: dict[str, Any], errors: dict[str, list[str]], team_request_id: str | None = None
) -> Response | None:
    """The booking, and the page after it; or None with the reason in ``errors`` (a slot
    taken by another team a moment ago is a sentence beside the list, not an error page)."""
    s = services()
    try:
        team_chats.book(s.uow(), chat_id, booking, s.clock, team_request_id=team_request_id)
    except (Conflict, Invalid) as refused:
        errors["chat"] = [m for ms in refused.errors.values() for m in ms] if isinstance(refused, Invalid) else [
            refused.message[:1].upper() + refused.message[1:] + "."
        ]
        return None
    return redirect(url_for("team_chat_pages.chat_booked"), 303)


@bp.route("/team/chat", methods=["GET", "POST"])
@limiter.limit(submission_limit, methods=["POST"])
def book_chat() -> ResponseReturnValue:
    """Before a team has a request: choose a free half hour with your area's coordinator."""
    s = services()
    area = request.values.get("area") or None
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        booking, errors = forms.load(TeamChatBookingIn(), _booking_form(request.form))
        if not request.form.get("chat"):
            errors["chat"] = ["Choose a time."]
        if booking is not None and not errors:
            done = _book(request.form["chat"], booking, errors)
            if done is not None:
                return done
    slots = team_chats.open_slots(s.uow(), s.clock, area=area)
    page = render_template("public/team_chat.html", slots=slots, form=request.form, errors=errors, area=area)
    return current_app.make_response((page, 422 if errors else 200))


@bp.route("/team/status/<secret>/chat", methods=["GET", "POST"])
@limiter.limit(submission_limit, methods=["POST"])
def book_chat_for_request(secret: str) -> ResponseReturnValue:
    """From the request's private status page: the team and contact are known already."""
    s = services()
    token = links.peek(uow(), secret, TokenPurpose.REQUEST_STATUS, s.clock)
    if token is None:
        return no_store(current_app.make_response((render_template("public/link_dead.html", team=True), 404)))
    status = queries.team_status(uow(), token.subject_id)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        about = (request.form.get("about") or "").strip()[:4000] or None
        if not request.form.get("chat"):
            errors["chat"] = ["Choose a time."]
        else:
            done = _book(request.form["chat"], {"about": about}, errors, team_request_id=status.request.id)
            if done is not None:
                return done
    slots = team_chats.open_slots(s.uow(), s.clock, area=status.request.area)
    page = render_template(
        "public/team_chat.html", slots=slots, form=request.form, errors=errors, area=status.request.area,
        r=status.request, action=url_for("team_chat_pages.book_chat_for_request", secret=secret),
    )  # fmt: skip
    response = current_app.make_response((page, 422 if errors else 200))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/team/chat/booked")
def chat_booked() -> ResponseReturnValue:
    return render_template("public/team_chat_booked.html")
