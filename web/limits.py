"""Rate limits on submissions and sign-in tries (their sizes are settings).

Counted per account when a coordinator is signed in (a page session, or an API
bearer token such as a trust's own system uses): a stall's shared tablet or a
trust's office behind one address is not throttled as one person. Anyone else
is counted per client address.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from matcher.domain import normalise_email
from matcher.errors import Unauthorised


def account_or_address() -> str:
    account = _signed_in_coordinator_id()
    return f"coordinator:{account}" if account else f"address:{get_remote_address()}"


def _signed_in_coordinator_id() -> str | None:
    # Imported here: web.auth and web.pages import this module for its decorators.
    if request.headers.get("Authorization"):
        from web.auth import current_coordinator as bearer_coordinator

        try:
            return bearer_coordinator().id
        except Unauthorised:
            return None  # a bad or expired token: the caller is anonymous, counted by address
    from flask import session

    from web.pages.common import SESSION_KEY
    from web.pages.common import current_coordinator as session_coordinator

    if not session.get(SESSION_KEY):
        return None  # no one signed in: no lookup
    coordinator = session_coordinator()
    return coordinator.id if coordinator is not None else None


limiter = Limiter(key_func=account_or_address, default_limits=[])


def sign_in_address() -> str:
    return f"sign-in-address:{get_remote_address()}"


def sign_in_account() -> str:
    """The account a sign-in (or a reset request) names, however many addresses try it."""
    email: object = ""
    if request.is_json:
        body = request.get_json(silent=True)
        email = body.get("email", "") if isinstance(body, dict) else ""
    else:
        email = request.form.get("email", "")
    account = normalise_email(str(email))[:320]
    # No email given: nobody's account to protect, so such tries count per address.
    return f"sign-in-account:{account}" if account else sign_in_address()


def _failed(response: Any) -> bool:
    return int(response.status_code) >= 400


def _address_limit() -> str:
    return str(current_app.config["SIGN_IN_RATE_LIMIT"])


def _account_limit() -> str:
    return str(current_app.config["SIGN_IN_ACCOUNT_RATE_LIMIT"])


def sign_ins(view: Callable[..., Any]) -> Callable[..., Any]:
    """Sign-in tries: limited per address (every try) and per account (failed tries), in the
    limiter's shared storage (Redis when there is one), so several web processes count together."""
    view = limiter.limit(_account_limit, key_func=sign_in_account, methods=["POST"], deduct_when=_failed)(view)
    return limiter.limit(_address_limit, key_func=sign_in_address, methods=["POST"])(view)


def reset_requests(view: Callable[..., Any]) -> Callable[..., Any]:
    """Asking for a reset email: every ask counts per account too (each may send an email, and the
    answer is the same whether the address is known), so nobody's inbox is flooded from many addresses."""
    view = limiter.limit(_account_limit, key_func=sign_in_account, methods=["POST"])(view)
    return limiter.limit(_address_limit, key_func=sign_in_address, methods=["POST"])(view)


def link_tries(view: Callable[..., Any]) -> Callable[..., Any]:
    """Tries at an emailed link's form (setting a password): per address, like sign-in tries."""
    return limiter.limit(_address_limit, key_func=sign_in_address, methods=["POST"])(view)


def submission_limit() -> str:
    return str(current_app.config["SUBMISSION_RATE_LIMIT"])


def submissions(view: Callable[..., Any]) -> Callable[..., Any]:
    # Only submissions are limited: reading needs a coordinator anyway.
    return limiter.limit(submission_limit, methods=["POST"])(view)
