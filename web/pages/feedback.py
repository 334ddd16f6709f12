"""The feedback form after a follow-up chat, reached through its emailed private link.

Looking at it (GET) changes nothing, since mail scanners follow links; answering it
(POST) keeps the answers once. A second answer gets a polite page, and nothing more
is kept.
"""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from matcher.services import feedback
from web.limits import limiter, submission_limit
from web.pages import forms
from web.pages.common import no_store, page_blueprint, services, uow
from web.schemas import FeedbackIn

bp = page_blueprint("feedback_form", "/feedback")

RATINGS = [
    ("1", "1: badly"),
    ("2", "2: not well"),
    ("3", "3: all right"),
    ("4", "4: well"),
    ("5", "5: very well"),
]
WORDS = {"rating": "Choose how it is going, from 1 to 5.", "note": "Keep it to 4,000 characters."}


def _private(page: str, status: int = 200) -> ResponseReturnValue:
    response = current_app.make_response((page, status))
    response.headers["Referrer-Policy"] = "no-referrer"  # the secret is in the address
    return no_store(response)


def _dead() -> ResponseReturnValue:
    return _private(render_template("public/link_dead.html", team=False), 404)


@bp.get("/thanks")
def thanks() -> ResponseReturnValue:
    return render_template("public/feedback_done.html", already=False, alerted=request.args.get("alerted") == "1")


@bp.get("/<secret>")
def form(secret: str) -> ResponseReturnValue:
    return _form(secret)


@bp.post("")
@limiter.limit(submission_limit)
def submit() -> ResponseReturnValue:
    # The secret comes in the form's body, not the address: a proxy's log never holds it twice.
    return _form((request.form.get("secret") or "")[:200])


def _form(secret: str) -> ResponseReturnValue:
    s = services()
    opened = feedback.open_form(uow(), secret, s.clock)
    if opened is None:
        return _dead()
    if opened.answered:
        status = 409 if request.method == "POST" else 200
        return _private(render_template("public/feedback_done.html", already=True, alerted=False), status)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = {
            "rating": (request.form.get("rating") or "").strip() or None,
            "note": (request.form.get("note") or "").strip() or None,
            "wants_call": request.form.get("wants_call") == "yes",
            "wants_stop": request.form.get("wants_stop") == "yes",
        }
        if data["rating"] is None:
            data.pop("rating")
        answers, errors = forms.load(FeedbackIn(), data, WORDS)
        if answers is not None:
            done = feedback.answer(uow(), opened.form.id, answers, s.clock)
            if not done.recorded:  # the other of two submissions at once won
                page = render_template("public/feedback_done.html", already=True, alerted=False)
                return _private(page, 409)
            return redirect(url_for("feedback_form.thanks", alerted="1" if done.poor else None), 303)
    page = render_template(
        "public/feedback_form.html", f=opened, form=request.form, errors=errors, ratings=RATINGS, secret=secret
    )
    return _private(page, 422 if errors else 200)
