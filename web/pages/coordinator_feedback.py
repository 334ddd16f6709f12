"""Coordinators' pages for feedback and the digest: a poor answer marked as dealt with,
and one's own digest time. Routes on the coordinator's blueprint (same sign-in, CSRF
and error pages), kept apart from its other pages."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from matcher.domain import Coordinator
from matcher.errors import Invalid
from matcher.services import digest, feedback
from web.pages import forms
from web.pages.common import coordinator_required, safe_next, services
from web.pages.coordinator import bp
from web.schemas import DigestSettings


@bp.post("/feedback/<answer_id>/handled")
@coordinator_required
def feedback_handled(coordinator: Coordinator, answer_id: str) -> ResponseReturnValue:
    s = services()
    feedback.handle(s.uow(), answer_id, coordinator, s.clock)
    flash("Marked as dealt with. It stays on the match's timeline.")
    return redirect(safe_next(request.form.get("next"), url_for("coordinator.home")), 303)


@bp.route("/digest", methods=["GET", "POST"])
@coordinator_required
def digest_settings(coordinator: Coordinator) -> ResponseReturnValue:
    """One's daily digest: its time, or off."""
    errors: dict[str, list[str]] = {}
    form = {"digest_time": coordinator.digest_time or "", "digest_on": "yes" if coordinator.digest_time else ""}
    if request.method == "POST":
        on = request.form.get("digest_on") == "yes"
        raw = (request.form.get("digest_time") or "").strip()
        form = {"digest_time": raw, "digest_on": "yes" if on else ""}
        body, errors = forms.load(
            DigestSettings(),
            {"digest_time": (raw or None) if on else None},
            {"digest_time": "Give a time as HH:MM, e.g. 08:00."},
        )
        if body is not None and on and body["digest_time"] is None:
            errors = {"digest_time": ["Give a time as HH:MM, e.g. 08:00, or untick the digest to turn it off."]}
        if not errors and body is not None:
            s = services()
            try:
                digest.set_time(s.uow(), coordinator.id, body["digest_time"], s.clock)
            except Invalid as exc:
                errors = exc.errors
            else:
                flash(
                    f"Your digest comes each day at {body['digest_time']}."
                    if body["digest_time"]
                    else "Your digest is off. Urgent feedback still reaches you by email at once."
                )
                return redirect(url_for("coordinator.digest_settings"), 303)
    page = render_template("coordinator/digest.html", c=coordinator, form=form, errors=errors)
    return page, 422 if errors else 200
