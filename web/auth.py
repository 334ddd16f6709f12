"""Coordinators on the API: a bearer token per sign-in, stored hashed, listed and revocable."""

from __future__ import annotations

from datetime import datetime

from flask import g, request

from matcher.domain import Coordinator
from matcher.errors import Unauthorised
from matcher.services import accounts, coordinators
from web.context import services


def issue_token(coordinator: Coordinator, label: str | None = None) -> tuple[str, datetime]:
    s = services()
    return accounts.issue_api_token(s.uow(), coordinator, s.clock, s.settings.token_hours, label)


def current_coordinator() -> Coordinator:
    """The signed-in coordinator, or 401."""
    if "coordinator" in g:
        return g.coordinator  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorised("sign in as a coordinator first")
    s = services()
    coordinator_id = accounts.api_token_holder(s.uow(), token.strip(), s.clock)
    if coordinator_id is None:
        raise Unauthorised("the token is invalid, has expired or was revoked")
    coordinator = coordinators.signed_in(s.uow(), coordinator_id)
    if coordinator is None:
        raise Unauthorised("this account is deactivated")
    g.coordinator = coordinator
    g.api_token_id = accounts.token_id(token.strip())
    return coordinator


def optional_coordinator() -> Coordinator | None:
    """The coordinator a bearer token names, if the call carries one (a bad one is still 401);
    None for an anonymous call, as on the public submission endpoints."""
    if not request.headers.get("Authorization"):
        return None
    return current_coordinator()
