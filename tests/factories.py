"""Offers and requests in the API's shape, and every domain object, with sensible defaults to override."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from matcher.domain import (
    AccessToken,
    Coordinator,
    Delivery,
    Event,
    EventKind,
    FollowUp,
    Match,
    TeamRequest,
    Term,
    TokenPurpose,
    Volunteer,
)

_n = itertools.count(1)


def offer(**overrides: Any) -> dict[str, Any]:
    n = next(_n)
    data: dict[str, Any] = {
        "name": f"Volunteer {n} Example",
        "email": f"volunteer{n}@example.org",
        "kind": "service_user",
        "home_area": "tower_hamlets",
        "roles": ["focus_group", "reviewer"],
        "modes": ["in_person", "video"],
        "availability": [{"day": "tue", "start": "09:00", "end": "17:00"}],
        "max_commitments": 2,
        "consent": {"data_processing": True, "version": "2026-01"},
    }
    data.update(overrides)
    return data


def team_request(**overrides: Any) -> dict[str, Any]:
    n = next(_n)
    data: dict[str, Any] = {
        "team_name": f"Team {n}",
        "project_title": f"Reducing waiting times {n}",
        "area": "tower_hamlets",
        "qi_stage": "testing",
        "roles": [{"role": "focus_group", "count": 1}],
        "modes": ["in_person", "video"],
        "contact": {"name": f"Contact {n}", "email": f"team{n}@nhs.example"},
        "meeting_slots": [{"day": "tue", "start": "14:00", "end": "15:00"}],
    }
    data.update(overrides)
    return data


# -- domain objects, for tests that start below the API ------------------------------------
# Each builds a valid object with the API's defaults (the same people as ``offer`` and
# ``team_request``), so a test names only what it is about.

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning


def volunteer(**overrides: Any) -> Volunteer:
    data = offer()
    data.pop("consent")
    fields: dict[str, Any] = {**data, "consent_version": "2026-01", "consent_given_at": AT, "created_at": AT}
    return Volunteer(**{**fields, **overrides})


def request(**overrides: Any) -> TeamRequest:
    data = team_request()
    contact = data.pop("contact")
    fields: dict[str, Any] = {
        **data,
        "contact_name": contact["name"],
        "contact_email": contact["email"],
        "created_at": AT,
    }
    return TeamRequest(**{**fields, **overrides})


def match(of: Volunteer | None = None, on: TeamRequest | None = None, **overrides: Any) -> Match:
    of, on = of or volunteer(), on or request()
    fields: dict[str, Any] = {
        "team_request_id": on.id,
        "volunteer_id": of.id,
        "role": on.roles[0]["role"],
        "score": 0.5,
        "factors": {"availability": 0.25, "place": 0.1, "fairness": 0.15},
        "created_at": AT,
    }
    return Match(**{**fields, **overrides})


def follow_up(of: Match | None = None, **overrides: Any) -> FollowUp:
    fields: dict[str, Any] = {"match_id": (of or match()).id, "sequence": 1, "due_at": AT, "created_at": AT}
    return FollowUp(**{**fields, **overrides})


def coordinator(**overrides: Any) -> Coordinator:
    n = next(_n)
    fields: dict[str, Any] = {
        "email": f"coordinator{n}@nhs.example",
        "password_hash": "-",
        "areas": ["tower_hamlets"],
        "created_at": AT,
    }
    return Coordinator(**{**fields, **overrides})


def event(kind: EventKind = EventKind.REQUEST_SUBMITTED, **overrides: Any) -> Event:
    return Event(kind, overrides.pop("occurred_at", AT), **overrides)


def delivery(**overrides: Any) -> Delivery:
    return Delivery(**{"key": f"introduction:{next(_n)}:team", "claimed_at": AT, **overrides})


def term(**overrides: Any) -> Term:
    return Term(**{"vocabulary": "topics", "code": f"topic_{next(_n)}", "label": "A topic", **overrides})


def access_token(**overrides: Any) -> AccessToken:
    fields: dict[str, Any] = {
        "id": f"{next(_n):064x}",
        "purpose": TokenPurpose.VOLUNTEER_LINK,
        "subject_id": volunteer().id,
        "created_at": AT,
        "expires_at": AT + timedelta(days=7),
    }
    return AccessToken(**{**fields, **overrides})
