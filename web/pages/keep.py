"""The retention question's answer: "keep my details", through the emailed link.

The email's link necessarily carries its secret in the path (GET, which does not use
it up: mail scanners follow links); the button POSTs the secret in the form's body, and
the answer redirects to a path without it, so it is in a proxy's log at most once.
"""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from matcher.scheduling import LONDON
from matcher.services import retention
from web.pages.common import no_store, page_blueprint, services, uow

bp = page_blueprint("keep", "/keep")


@bp.after_request
def _private(response):  # type: ignore[no-untyped-def]
    response.headers["Referrer-Policy"] = "no-referrer"
    return no_store(response)


@bp.get("/<secret>")
def question(secret: str) -> ResponseReturnValue:
    review = retention.open_question(uow(), secret, services().clock)
    erase_on = review.due_at.astimezone(LONDON).strftime("%-d %B %Y") if review is not None else None
    page = render_template("public/keep.html", live=review is not None, secret=secret, erase_on=erase_on)
    return current_app.make_response((page, 200 if review is not None else 404))


@bp.post("")
def keep() -> ResponseReturnValue:
    secret = request.form.get("secret") or ""
    if not retention.keep(uow(), secret, services().clock):
        return current_app.make_response((render_template("public/keep.html", live=False, secret=""), 404))
    return redirect(url_for("keep.kept"), 303)


@bp.get("/done")
def kept() -> ResponseReturnValue:
    return render_template("public/keep_done.html")
