"""Offers and requests in the API's shape, with sensible defaults to override."""

from __future__ import annotations

import itertools
from typing import Any

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
