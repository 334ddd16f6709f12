"""Coordinators on the API: a signed, expiring bearer token per sign-in."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from matcher.domain import Coordinator
from matcher.errors import Unauthorised
from matcher.services import coordinators
from web.context import services

SALT = "qimatch-api-token"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def issue_token(coordinator: Coordinator, now: datetime) -> tuple[str, datetime]:
    hours = services().settings.token_hours
    return _serializer().dumps({"c": coordinator.id}), now + timedelta(hours=hours)


def current_coordinator() -> Coordinator:
    """The signed-in coordinator, or 401."""
    if "coordinator" in g:
        return g.coordinator  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    coordinator_id = None
    if scheme.lower() == "bearer" and token:
        try:
            data = _serializer().loads(token, max_age=services().settings.token_hours * 3600)
            coordinator_id = data.get("c")
        except (BadSignature, SignatureExpired):
            raise Unauthorised("the token is invalid or has expired") from None
    if not coordinator_id:
        raise Unauthorised("sign in as a coordinator first")
    coordinator = coordinators.signed_in(services().uow(), coordinator_id)
    if coordinator is None:
        raise Unauthorised("unknown coordinator")
    g.coordinator = coordinator
    return coordinator


def optional_coordinator() -> Coordinator | None:
    """The coordinator a bearer token names, if the call carries one (a bad one is still 401);
    None for an anonymous call, as on the public submission endpoints."""
    if not request.headers.get("Authorization"):
        return None
    return current_coordinator()
