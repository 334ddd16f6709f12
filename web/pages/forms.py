"""From an HTML form to the API's schemas and back.

The pages validate with the same marshmallow schemas as the JSON API, so each
rule lives in one place; this module only reshapes form fields into the
schema's input, and the schema's messages into words for a person, each keyed
by the form field it concerns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict

from matcher import phones
from web.errors import flatten

SLOT_ROWS = 6
CONSENT_VERSION = "2026-01"

# Plainer words for the schema's generic messages, per field (the rule itself stays in the schema).
PLAIN: dict[str, str] = {
    "name": "Enter your name.",
    "email": "Enter an email address, like name@example.org.",
    "kind": "Choose whether you are a service user, a carer, or both.",
    "home_area": "Choose the area where you live.",
    "roles": "Choose at least one way you would like to be involved.",
    "modes": "Choose at least one way of meeting.",
    "availability": "Give at least one time in the week when you are free.",
    "max_commitments": "Choose how many projects you could take part in at once (1 to 5).",
    "consent.data_processing": "Tick the box to agree, so we can keep your offer.",
    "team_name": "Enter your team's name.",
    "project_title": "Enter your project's title.",
    "area": "Choose the area or directorate of the project.",
    "qi_stage": "Choose the stage your project is at.",
    "contact.name": "Enter the name of the person we should contact.",
    "contact.email": "Enter the contact's email address, like name@nhs.net.",
    "hours_per_month": "Enter a whole number of hours from 1 to 200.",
    "duration_weeks": "Enter a whole number of weeks from 1 to 104.",
    "start_date": "Enter a date, like 2026-05-01.",
    "until": "Enter a date, like 2026-05-01.",
    "reason": "Say briefly why this suggestion is not right.",
    "venue": "Keep the meeting place to 300 characters.",
    "intro_at": "Enter a date and time, like 2026-05-01 14:00.",
}
# The team request form shares field names with the volunteers' form but speaks to a team.
TEAM_WORDS: dict[str, str] = {
    **PLAIN,
    "roles": "Enter how many people you need in at least one role.",
    "modes": "Choose at least one way your team meets.",
}
GENERIC = (
    "Missing data for required field.",
    "Shorter than minimum length",
    "Length must be between",
    "Not a valid",
    "Field may not be null.",
    # A choice outside the list (an empty select, a retired code): the API names the codes; a page
    # says, in the field's own words, what to choose.
    "Must be one of:",
    "Unknown ",
)


def _plain(field: str, message: str, words: dict[str, str]) -> str:
    key = re.sub(r"\.\d+\.", ".", field)  # availability.0.end -> availability.end
    if message.startswith(GENERIC):
        if field in words:
            return words[field]
        if key.endswith((".start", ".end")):
            return "Use 24-hour time, like 09:30."
        if key.endswith(".day"):
            return "Choose a day."
    return message


def errors_of(exc: ValidationError, words: dict[str, str] = PLAIN) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for field, messages in flatten(exc.messages).items():
        out[field] = list(dict.fromkeys(_plain(field, m, words) for m in messages))
    return out


def load(
    schema: Schema, data: dict[str, Any], words: dict[str, str] = PLAIN
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    try:
        return schema.load(data), {}
    except ValidationError as exc:
        return None, errors_of(exc, words)


def _text(form: MultiDict[str, str], name: str) -> str | None:
    value = (form.get(name) or "").strip()
    return value or None


def _int(form: MultiDict[str, str], name: str) -> Any:
    value = _text(form, name)
    if value is None:
        return None
    return int(value) if re.fullmatch(r"-?\d{1,6}", value) else value  # a non-number reaches the schema as it is


def _put(data: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value != []:
        data[key] = value


def slot_rows(form: MultiDict[str, str], prefix: str, rows: int = SLOT_ROWS) -> list[dict[str, str]]:
    """Rows of day / from / to; a row left wholly blank is no slot."""
    out = []
    for i in range(rows):
        row = {k: (form.get(f"{prefix}.{i}.{k}") or "").strip() for k in ("day", "start", "end")}
        if any(row.values()):
            out.append(row)
    return out


def lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").replace(",", "\n").splitlines() if line.strip()]


def offer_fields(form: MultiDict[str, str], *, registering: bool) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if registering:
        for name in ("name", "email", "kind", "home_area"):
            _put(data, name, _text(form, name))
        data.setdefault("roles", [])
        data.setdefault("modes", [])
        data["consent"] = {"data_processing": form.get("consent.data_processing") == "yes", "version": CONSENT_VERSION}
        _put(data, "source", _text(form, "source"))  # the outreach event whose link they came by
    _put(data, "phone", _text(form, "phone"))
    _put(data, "preferred_contact", _text(form, "preferred_contact"))
    for name in ("roles", "modes"):
        data[name] = form.getlist(name)
    for name in ("travel_areas", "experience", "interests", "languages"):
        data[name] = form.getlist(name)
    data["availability"] = slot_rows(form, "availability")
    _put(data, "max_commitments", _int(form, "max_commitments"))
    data["trainings"] = [{"code": code} for code in form.getlist("trainings")]
    for name in ("access_needs", "exclusions"):
        data[name] = _text(form, name)
    data["excluded_teams"] = lines(form.get("excluded_teams"))
    if registering:
        for name in ("access_needs", "exclusions"):
            if data[name] is None:
                del data[name]
    return data


def request_fields(form: MultiDict[str, str], role_codes: Iterable[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in ("team_name", "project_title", "area", "qi_stage"):
        _put(data, name, _text(form, name))
    roles = []
    for code in role_codes:
        count = _int(form, f"roles.{code}")
        if count not in (None, 0, "0"):
            roles.append({"role": code, "count": count})
    data["roles"] = roles
    data["modes"] = form.getlist("modes")
    data["contact"] = {k: v for k in ("name", "email") if (v := _text(form, f"contact.{k}")) is not None}
    _put(data, "aim", _text(form, "aim"))
    data["topics"] = form.getlist("topics")
    data["experience_sought"] = form.getlist("experience_sought")
    data["meeting_slots"] = slot_rows(form, "meeting_slots", 4)
    data["languages"] = form.getlist("languages")
    data["required_trainings"] = form.getlist("required_trainings")
    _put(data, "start_date", _text(form, "start_date"))
    _put(data, "hours_per_month", _int(form, "hours_per_month"))
    _put(data, "duration_weeks", _int(form, "duration_weeks"))
    _put(data, "notes", _text(form, "notes"))
    _put(data, "venue", _text(form, "venue"))
    _put(data, "video_link", _text(form, "video_link"))
    return data


def request_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Role rows' errors ("roles.0.count") named by the role's own field where possible."""
    return errors


def volunteer_form_values(volunteer: Any) -> MultiDict[str, str]:
    """A stored offer as the form's fields, to fill the edit form."""
    form: MultiDict[str, str] = MultiDict()
    for name in ("phone", "preferred_contact", "access_needs", "exclusions"):
        value = getattr(volunteer, name)
        if name == "phone" and value:
            value = phones.national(value)  # as they would write it; stored in E.164
        if value:
            form.add(name, str(value))
    form.add("max_commitments", str(volunteer.max_commitments))
    for name in ("roles", "modes", "travel_areas", "experience", "interests", "languages"):
        for code in getattr(volunteer, name):
            form.add(name, code)
    for t in volunteer.trainings:
        form.add("trainings", t["code"])
    form.add("excluded_teams", "\n".join(volunteer.excluded_teams))
    for i, slot in enumerate(volunteer.availability[:SLOT_ROWS]):
        for k in ("day", "start", "end"):
            form.add(f"availability.{i}.{k}", slot[k])
    return form
