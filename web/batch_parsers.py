"""Batch records read with the API's own schemas, so a rule lives in one place.

The fields a batch record carries beside the API's shape are read by ``HeldIn``,
made of the same rules: a status as the API's statuses, the meetings of what
someone holds now (rule 10) as the API's meeting slots."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from marshmallow import ValidationError, fields, validate

from matcher.domain import TeamRequest, Volunteer, VolunteerStatus, slots
from matcher.generate import verified
from matcher.rules import Standing
from matcher.taxonomy import STARTING_TERMS
from web.quick_load import QuickLoader
from web.schemas import Schema, SlotSchema, TeamRequestIn, VolunteerIn
from web.vocabulary import Code, codes_from, codes_in_force


class HeldIn(Schema):
    """What a batch offer says beside the API's shape: its status, and what the person holds now."""

    status = fields.String(load_default=VolunteerStatus.ACTIVE, validate=validate.OneOf(VolunteerStatus.ALL))
    active_commitments = fields.Integer(
        strict=True, load_default=0, validate=validate.Range(min=0, error="Must be a whole number, 0 or more.")
    )
    committed_slots = fields.List(fields.Nested(SlotSchema), load_default=list)
    # Which of the record's trainings the programme verified: only these pass matching rule 6,
    # unless QIMATCH_DECLARED_TRAINING_COUNTS lets every declared training pass.
    verified_trainings = fields.List(Code("trainings"), load_default=list)


# Fields a batch record carries beside the API's shape.
BATCH_ONLY = ("id", "status", "active_commitments", "committed_slots", "verified_trainings")
# Built once: a schema instance per record would cost more than the validation itself.
OFFER_SCHEMA, REQUEST_SCHEMA = VolunteerIn(), TeamRequestIn()
# The same schemas through QuickLoader (web/quick_load.py): what ``schema.load`` gives, at
# batch speed. ``OFFER_SCHEMA.load`` and ``REQUEST_SCHEMA.load`` remain, as the baseline.
load_offer, load_request = QuickLoader(OFFER_SCHEMA).load, QuickLoader(REQUEST_SCHEMA).load
HELD = tuple(HeldIn().fields)
load_held = QuickLoader(HeldIn()).load


def use_vocabularies(path: str | Path | None) -> None:
    """The codes batch records are checked against: a taxonomy file (the shape of
    GET /api/v1/taxonomy) or the starting vocabularies."""
    if path:
        taxonomy = json.loads(Path(path).read_text())
    else:
        taxonomy = {v: [{"code": c, "label": label} for c, label in terms] for v, terms in STARTING_TERMS.items()}
    codes_in_force.set(codes_from(taxonomy))


def _api_part(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in BATCH_ONLY}


def parse_volunteer(record: dict[str, Any], load: Callable[[Any], Any] = load_offer) -> tuple[Volunteer, Standing]:
    errors: dict[str, Any] = {}
    try:
        offer = load(_api_part(record))
    except ValidationError as exc:
        errors.update(exc.normalized_messages())
    try:
        held = load_held({k: record[k] for k in HELD if k in record})
    except ValidationError as exc:
        errors.update(exc.normalized_messages())
    if errors:
        raise ValidationError(errors)
    consent = offer.pop("consent")
    offer["trainings"] = _verified(offer.get("trainings", []), held["verified_trainings"])
    now = datetime.now(UTC)
    volunteer = Volunteer(
        **offer,
        consent_version=consent["version"],
        consent_given_at=now,
        status=held["status"],
        created_at=now,
        updated_at=now,
    )
    standing = Standing(held["active_commitments"], committed_slots=frozenset(slots(held["committed_slots"])))
    return volunteer, standing


def _verified(trainings: list[dict[str, Any]], codes: list[str]) -> list[dict[str, Any]]:
    # A verified training the record did not also declare is on record all the same.
    declared = {t["code"] for t in trainings}
    extra = [{"code": c, "completed_on": None} for c in codes if c not in declared]
    return verified([*trainings, *extra], codes)


def parse_request(record: dict[str, Any], load: Callable[[Any], Any] = load_request) -> TeamRequest:
    request_in = load(_api_part(record))
    contact = request_in.pop("contact")
    return TeamRequest(**request_in, contact_name=contact["name"], contact_email=contact["email"])
