"""Coordinators' session pages: schedule, see who is booked and who waits, mark attendance.

The same use cases and schemas as ``/api/v1/sessions``; only the form's shape differs
(a datetime-local field is the London wall clock)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from matcher.domain import Coordinator
from matcher.errors import Invalid
from matcher.programme_sessions import SessionKind
from matcher.scheduling import LONDON
from matcher.services import queries, sessions
from web.pages import forms
from web.pages.common import coordinator_required, no_store, page_blueprint, services
from web.session_schemas import SessionIn, SessionPatch

bp = page_blueprint("session_pages", "/coordinator/sessions")

WORDS = {
    **forms.PLAIN,
    "kind": "Choose what kind of session it is.",
    "area": "Choose one of your areas.",
    "starts_at": "Enter when it starts, like 2026-05-01 14:00.",
    "ends_at": "Enter when it ends, after it starts.",
    "capacity": "Enter how many places there are (1 to 500).",
    "venue": "Give a place (up to 300 characters) or a video link.",
    "video_link": "Give a web address, like https://meet.example/abc.",
    "training": "Choose a training, or none.",
}


@bp.after_request
def _private(response):  # type: ignore[no-untyped-def]
    return no_store(response)


def _moment(value: str) -> str:
    try:  # a datetime-local field: the London wall clock
        return datetime.fromisoformat(value).replace(tzinfo=LONDON).isoformat()
    except ValueError:
        return value  # the schema names it


def _local(moment: datetime) -> str:
    """A moment as a datetime-local field shows it: the London wall clock, to the minute."""
    return moment.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")


def session_fields(form: MultiDict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in ("kind", "title", "area", "venue", "video_link", "training"):
        value = (form.get(name) or "").strip()
        if value or name in ("kind", "area"):
            data[name] = value
    for name in ("starts_at", "ends_at"):
        data[name] = _moment((form.get(name) or "").strip())
    raw = (form.get("capacity") or "").strip()
    data["capacity"] = int(raw) if raw.isdigit() else raw
    return data


def _list(coordinator: Coordinator, form: Any = None, errors: Any = None, status: int = 200) -> ResponseReturnValue:
    page = queries.list_sessions(services().uow(), coordinator, per_page=200)
    now = services().clock.now()
    return (
        render_template(
            "coordinator/sessions.html",
            c=coordinator,
            upcoming=[x for x in page.items if not x.session.started(now)],
            past=[x for x in page.items if x.session.started(now)],
            kinds=SessionKind.WORDS,
            form=form if form is not None else {"capacity": "12"},
            errors=errors or {},
        ),
        status,
    )


@bp.get("")
@coordinator_required
def sessions_page(coordinator: Coordinator) -> ResponseReturnValue:
    return _list(coordinator)


@bp.post("")
@coordinator_required
def schedule(coordinator: Coordinator) -> ResponseReturnValue:
    s = services()
    body, errors = forms.load(SessionIn(), session_fields(request.form), WORDS)
    if body is not None:
        try:
            made = sessions.schedule(s.uow(), body, coordinator, s.clock)
        except Invalid as exc:
            errors = exc.errors
        else:
            flash("Scheduled. Volunteers who can reach it see it on their own page and can book.")
            return redirect(url_for("session_pages.session_page", session_id=made.id), 303)
    return _list(coordinator, form=request.form, errors=errors, status=422)


@bp.get("/<session_id>")
@coordinator_required
def session_page(coordinator: Coordinator, session_id: str) -> ResponseReturnValue:
    s = services()
    view = queries.session_view(s.uow(), session_id, coordinator)
    x = view.session
    return render_template(
        "coordinator/session.html",
        c=coordinator,
        view=view,
        x=x,
        what=x.title or SessionKind.WORDS.get(x.kind, x.kind),
        ends=f"{x.ends_at.astimezone(LONDON):%H:%M}",
        local=_local,
        begun=x.started(s.clock.now()),
    )


@bp.post("/<session_id>/attendance")
@coordinator_required
def attendance(coordinator: Coordinator, session_id: str) -> ResponseReturnValue:
    """Every booked person: ticked came, unticked did not."""
    s = services()
    came = set(request.form.getlist("attended"))
    booked = queries.session_view(s.uow(), session_id, coordinator).booked
    marks = [{"volunteer_id": b.booking.volunteer_id, "attended": b.booking.volunteer_id in came} for b in booked]
    if marks:
        changed = sessions.mark_attendance(s.uow(), session_id, marks, coordinator, s.clock)
        flash(f"Attendance saved ({len(changed)} changed). Trainings it confers are now verified.")
    return redirect(url_for("session_pages.session_page", session_id=session_id), 303)


@bp.post("/<session_id>/change")
@coordinator_required
def change(coordinator: Coordinator, session_id: str) -> ResponseReturnValue:
    """New times, place or number of places: booked people get the calendar entry again;
    more places move the waiting list up. Errors are flashed by field, as the match page does."""
    s = services()
    data = session_fields(request.form)
    for name in ("kind", "area", "title", "training"):
        data.pop(name, None)  # what the session is stays; this form changes when, where and how many
    for name in ("venue", "video_link"):
        data[name] = (request.form.get(name) or "").strip() or None
    # The form shows times to the minute: a time left as shown is not a change (an API
    # client's seconds would otherwise send everyone the calendar entry again).
    x = queries.session_view(s.uow(), session_id, coordinator).session
    for name in ("starts_at", "ends_at"):
        if (request.form.get(name) or "").strip() == _local(getattr(x, name)):
            data.pop(name)
    body, errors = forms.load(SessionPatch(), data, WORDS)
    if body is not None:
        try:
            sessions.update(s.uow(), session_id, body, coordinator, s.clock, s.settings.matching)
            flash("Saved. Booked people get the updated calendar invitation; new places go to the waiting list first.")
        except Invalid as exc:
            errors = exc.errors
    for field, messages in errors.items():
        flash(f"Not saved ({field.replace('_', ' ')}): " + " ".join(messages))
    return redirect(url_for("session_pages.session_page", session_id=session_id), 303)


@bp.post("/<session_id>/cancel")
@coordinator_required
def cancel(coordinator: Coordinator, session_id: str) -> ResponseReturnValue:
    s = services()
    if request.form.get("confirm") != "yes":
        flash("Not cancelled: tick the box to confirm.")
        return redirect(url_for("session_pages.session_page", session_id=session_id), 303)
    sessions.cancel_session(s.uow(), session_id, coordinator, s.clock)
    flash("Cancelled. Everyone booked or waiting is told, and calendar entries are cancelled.")
    return redirect(url_for("session_pages.session_page", session_id=session_id), 303)
