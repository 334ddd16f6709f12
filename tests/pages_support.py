"""Filling in the pages' forms from a test client: the CSRF token, good form data, a signed-in coordinator."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from matcher.bootstrap import Services
from matcher.services import coordinators

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.data[:500]
    found = CSRF.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def volunteer_form(**overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "name": "Amina Begum",
        "email": "amina@example.org",
        "kind": "carer",
        "home_area": "tower_hamlets",
        "roles": ["focus_group", "reviewer"],
        "modes": ["in_person", "video"],
        "max_commitments": "2",
        "availability.0.day": "tue",
        "availability.0.start": "09:00",
        "availability.0.end": "17:00",
        "experience": ["carer_experience"],
        "consent.data_processing": "yes",
    }
    form.update(overrides)
    return form


def request_form(**overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "team_name": "Ward 5 team",
        "project_title": "Fewer restraints on Ward 5",
        "area": "tower_hamlets",
        "qi_stage": "testing",
        "roles.focus_group": "1",
        "modes": ["in_person"],
        "meeting_slots.0.day": "tue",
        "meeting_slots.0.start": "14:00",
        "meeting_slots.0.end": "15:00",
        "experience_sought": ["carer_experience"],
        "contact.name": "Sam Lead",
        "contact.email": "sam.lead@nhs.example",
    }
    form.update(overrides)
    return form


LEAD_EMAIL, LEAD_PASSWORD = "lead@nhs.example", "correct horse battery"


def post_sign_in(client: FlaskClient) -> None:
    """The sign-in form, filled in as the lead coordinator."""
    data = {"csrf_token": csrf(client, "/coordinator/sign-in"), "email": LEAD_EMAIL, "password": LEAD_PASSWORD}
    signed = client.post("/coordinator/sign-in", data=data)
    assert signed.status_code == 303


def sign_in_coordinator(client: FlaskClient, services: Services, areas: list[str] | None = None) -> str:
    """Create the lead coordinator for ``areas`` (Tower Hamlets), sign in; the dashboard's CSRF token."""
    coordinators.create_coordinator(
        services.uow(), LEAD_EMAIL, LEAD_PASSWORD, areas or ["tower_hamlets"], services.clock
    )
    post_sign_in(client)
    return csrf(client, "/coordinator/")
