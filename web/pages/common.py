"""What every page shares: the unit of work, CSRF, the
signed-in person, vocabulary labels, and the rule that personal pages are never cached."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from matcher.domain import Coordinator, TokenPurpose
from matcher.errors import Invalid, QimatchError
from matcher.services import coordinators, links
from matcher.services.visibility import AreaNotCovered
from web.context import services, taxonomy
from web.errors import status_of

CSRF_FIELD = "csrf_token"
SESSION_KEY = "sid"


def uow() -> Any:
    return services().uow()


# --- CSRF: a per-session secret in every form, checked on every POST -------------------------


def csrf_token() -> str:
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return str(session[CSRF_FIELD])


def check_csrf() -> None:
    if request.method != "POST":
        return
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_FIELD, "")
    if not sent or not expected or not hmac.compare_digest(str(sent), str(expected)):
        abort(400, description="This form has expired. Please go back, reload the page and try again.")


# --- Signed-in people --------------------------------------------------------------------------


def begin_session(purpose: str, subject_id: str, secret: str | None = None) -> None:
    """A fresh session at sign-in: the old one ended, a new secret and CSRF token issued."""
    s = services()
    links.end_session(uow(), session.get(SESSION_KEY), s.clock)
    session.clear()
    session[SESSION_KEY] = secret or links.start_session(uow(), purpose, subject_id, s.clock)
    session.permanent = True
    csrf_token()


def end_session() -> None:
    links.end_session(uow(), session.get(SESSION_KEY), services().clock)
    session.clear()


def signed_in(purpose: str) -> str | None:
    cached = g.get("signed_in")
    if cached is not None and cached[0] == purpose:
        return str(cached[1])
    subject = links.session_subject(uow(), session.get(SESSION_KEY), purpose, services().clock)
    if subject is not None:
        g.signed_in = (purpose, subject)
    return subject


def current_coordinator() -> Coordinator | None:
    coordinator_id = signed_in(TokenPurpose.COORDINATOR_SESSION)
    if coordinator_id is None:
        return None
    coordinator = coordinators.signed_in(services().uow(), coordinator_id)
    if coordinator is not None:
        g.coordinator = coordinator  # what web.auth.current_coordinator returns for this request
    return coordinator


def coordinator_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        coordinator = current_coordinator()
        if coordinator is None:
            if session.get(SESSION_KEY):
                session.pop(SESSION_KEY, None)
                g.notice = "You were signed out after a while without activity. Please sign in again."
            return redirect(url_for("coordinator.sign_in", next=request.full_path.rstrip("?")))
        return view(coordinator, *args, **kwargs)

    return wrapper


def volunteer_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        volunteer_id = signed_in(TokenPurpose.VOLUNTEER_SESSION)
        if volunteer_id is None:
            return redirect(url_for("public.new_link", expired=1))
        return view(volunteer_id, *args, **kwargs)

    return wrapper


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: never an open redirect, never a header broken by CR/LF.

    Judged after percent-decoding, as a browser may read it: ``/%09/evil.example/``
    is ``/<tab>/evil.example/``, and browsers drop the tab, leaving ``//evil.example/``.
    """
    if not target:
        return default
    decoded = unquote(target)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in decoded) or "\\" in decoded:
        return default
    parts = urlsplit(decoded)
    if parts.scheme or parts.netloc or not decoded.startswith("/") or decoded.startswith("//"):
        return default
    return target


# --- Vocabularies ------------------------------------------------------------------------------


def labels(vocabulary: str) -> dict[str, str]:
    return {t["code"]: t["label"] for t in taxonomy().get(vocabulary, [])}


def label(vocabulary: str, code: str | None) -> str:
    if code is None:
        return ""
    return labels(vocabulary).get(code, code.replace("_", " "))


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


HTTP_TITLES = {400: "That did not work", 404: "Page not found", 429: "Too many tries"}
NO_SUCH_PAGE = "There is no page at this address. The link may be mistyped, or the page may have moved."
# A use case's refusal, as a heading a person reads.
DOMAIN_TITLES = {
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    409: "That did not work",
    422: "Please check",
}


def http_error_page(error: HTTPException) -> ResponseReturnValue:
    message = error.description or ""
    if error.code == 404 and (not message or message.startswith("The requested URL")):
        message = NO_SUCH_PAGE  # werkzeug's wording is for programmers
    if error.code == 429:
        message = "You have tried that many times in a short while. Please wait a minute and try again."
    page = render_template("error.html", title=HTTP_TITLES.get(error.code or 500, error.name), message=message)
    return page, error.code or 500


def domain_error_page(error: QimatchError) -> ResponseReturnValue:
    """A use case's NotFound, Forbidden, Conflict or Invalid as a page in words, with its status."""
    status = status_of(error)
    if isinstance(error, AreaNotCovered):
        # The same refusal as the API's 403, in words: the filters only offer one's own areas.
        message = f"You do not look after {label('areas', error.area)}. Choose one of your own areas."
        return render_template("error.html", title="Not one of your areas", message=message), status
    message = _sentence(error.message)
    if isinstance(error, Invalid):
        message = " ".join(m for ms in error.errors.values() for m in ms) or message
    return render_template("error.html", title=DOMAIN_TITLES.get(status, "That did not work"), message=message), status


def _sentence(words: str) -> str:
    words = words.strip()
    return (words[:1].upper() + words[1:] + ("" if words.endswith((".", "!", "?")) else ".")) if words else words


def page_blueprint(name: str, url_prefix: str | None = None) -> Blueprint:
    """A blueprint whose failures are pages, not JSON, and whose forms all carry a CSRF token."""
    bp = Blueprint(name, __name__, url_prefix=url_prefix)
    bp.before_request(check_csrf)
    bp.register_error_handler(HTTPException, http_error_page)
    bp.register_error_handler(QimatchError, domain_error_page)
    return bp
