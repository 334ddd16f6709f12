"""Who may call an operation, said once: enforced here and documented from here.

Every API operation carries one of these, so the OpenAPI document's ``security``
is never a guess: ``public`` declares none (``security: []``), ``coordinator``
declares the bearer token and checks it before the body or query is read, so an
anonymous caller learns nothing from validation messages either. A test walks the
document and calls each operation without a token to hold the two together.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any

from flask import abort, request
from flask_smorest import Blueprint

from web.auth import current_coordinator
from web.context import services
from web.openapi import BEARER
from web.schemas import ErrorOut

View = Callable[..., Any]


def public(view: View) -> View:
    """Anyone may call it, no token needed."""

    @wraps(view)
    def open_to_all(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    return _declare(open_to_all, [])


def public_or_coordinator(view: View) -> View:
    """Anyone; a coordinator's token, when sent, counts (an offer they entered) and a bad one is a 401.
    Documented as OpenAPI's optional security: ``[{}, {"bearerAuth": []}]``."""

    @wraps(view)
    def open_to_all(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    return _declare(open_to_all, [{}, {BEARER: []}])


def coordinator(view: View) -> View:
    """Signed-in coordinators only (a bearer token); anyone else gets 401 first."""

    @wraps(view)
    def signed_in(*args: Any, **kwargs: Any) -> Any:
        current_coordinator()
        return view(*args, **kwargs)

    return _declare(signed_in, [{BEARER: []}])


NOTIFY_CALLBACK = "notifyCallbackToken"


def notify_callback(view: View) -> View:
    """GOV.UK Notify's delivery receipts only: the bearer token set as QIMATCH_NOTIFY_CALLBACK_TOKEN
    (and given to Notify as the callback's token), compared in constant time; else 401. With no
    token set the endpoint answers nobody: receipts are off."""

    @wraps(view)
    def from_notify(*args: Any, **kwargs: Any) -> Any:
        token = services().settings.notify_callback_token
        given = request.headers.get("Authorization", "")
        if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            abort(401, description="Delivery receipts want QIMATCH_NOTIFY_CALLBACK_TOKEN as a bearer token.")
        return view(*args, **kwargs)

    return _declare(from_notify, [{NOTIFY_CALLBACK: []}])


def refused(blp: Blueprint, why: str) -> Callable[[View], View]:
    """Documents the 403 a view answers, in words."""
    return blp.alt_response(403, schema=ErrorOut, description=why)


def conflicts(blp: Blueprint, why: str) -> Callable[[View], View]:
    """Documents the 409 a view answers, in words."""
    return blp.alt_response(409, schema=ErrorOut, description=why)


def rate_limited(blp: Blueprint) -> Callable[[View], View]:
    """Documents the 429 of a view under a rate limit (web.limits)."""
    return blp.alt_response(429, response="TooManyRequests")


def _declare(wrapper: View, security: list[dict[str, list[str]]]) -> View:
    # flask-smorest keeps each view's documentation in ``_apidoc`` (copied onto the wrapper by
    # functools.wraps); "manual_doc" is merged verbatim into the operation, as blp.doc does.
    apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    apidoc.setdefault("manual_doc", {})["security"] = security
    wrapper._apidoc = apidoc  # type: ignore[attr-defined]
    return wrapper
