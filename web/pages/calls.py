"""The coordinator's call list: who is owed a call and why, and a call recorded with its note.
Routes on the coordinator's blueprint (same sign-in, CSRF and error pages)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from matcher.calls import CallReason, CallStatus, CallSubject
from matcher.domain import Coordinator
from matcher.errors import Conflict, Invalid
from matcher.services import calls, queries
from web.call_schemas import CalledIn
from web.pages import forms
from web.pages.common import coordinator_required, services
from web.pages.coordinator import bp

NOTE_WORDS = {"note": "Write a note about the call: what was said, and what happens next."}


def owed_for(owed_at: datetime, now: datetime) -> str:
    """How long a call has been owed, as a coordinator says it."""
    hours = int((now - owed_at).total_seconds() // 3600)
    if hours < 1:
        return "Less than an hour"
    if hours < 48:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{hours // 24} days"


def _words() -> dict[str, object]:
    return {"reasons": CallReason.WORDS, "why": CallSubject.WHY, "owed_for": owed_for, "now": services().clock.now()}


@bp.get("/calls")
@coordinator_required
def calls_page(coordinator: Coordinator) -> ResponseReturnValue:
    status = CallStatus.DONE if request.args.get("status") == CallStatus.DONE else CallStatus.OWED
    found = queries.list_calls(services().uow(), coordinator, status=status, per_page=200)
    return render_template(
        "coordinator/calls.html", c=coordinator, lines=found.items, total=found.total, status=status, **_words()
    )


@bp.route("/calls/<call_id>", methods=["GET", "POST"])
@coordinator_required
def call_page(coordinator: Coordinator, call_id: str) -> ResponseReturnValue:
    """One call: whom to ring and why; the form that records it as made, with a note."""
    s = services()
    line = queries.call_line(s.uow(), call_id, coordinator)
    form: Mapping[str, object] = {"note": ""}
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and not line.call.done:
        form = request.form
        data: dict[str, object] = {"note": request.form.get("note") or ""}
        if line.call.reason == CallReason.FEEDBACK:
            # Their answers on the phone, if the coordinator asked: both optional.
            rating = (request.form.get("rating") or "").strip()
            data["rating"] = int(rating) if rating.isdigit() else (rating or None)
            data["wants_stop"] = request.form.get("wants_stop") == "yes"
        body, errors = forms.load(CalledIn(), data, NOTE_WORDS)
        if body is not None:
            try:
                calls.record(s.uow(), call_id, coordinator, body["note"], s.clock, body["rating"], body["wants_stop"])
            except Invalid as exc:
                errors = exc.errors
            except Conflict as exc:
                flash(str(exc.message)[:1].upper() + str(exc.message)[1:] + ".")
                return redirect(url_for("coordinator.call_page", call_id=call_id), 303)
            else:
                flash(f"Call with {line.volunteer.name} recorded. Your note is on their timeline.")
                return redirect(url_for("coordinator.calls_page"), 303)
    elif request.method == "POST":
        flash("This call was marked as made already; its note stands.")
        return redirect(url_for("coordinator.call_page", call_id=call_id), 303)
    page = render_template("coordinator/call.html", c=coordinator, line=line, form=form, errors=errors, **_words())
    return page, 422 if errors else 200
