"""Schemas for involvement payments (``/api/v1/activities``, ``rates``, ``claims``, ``finance-exports``).

Money is integer pence: amounts are strict integers (``12.5`` or ``"1250"`` is refused,
naming the field), never floats.
"""

from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate, validates

from matcher.payments import ActivityType, HoldReason, LineKind, LineStatus, Preference, RateBasis
from web.schemas import SHORT, Schema

MAX_PENCE = 10_000_000  # £100,000: far above any line or cap, far below any integer overflow
PENCE = validate.Range(0, MAX_PENCE, error="Give a whole number of pence from 0 to 10000000.")
MONTH = re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])$")


def Pence(**kwargs: object) -> fields.Integer:  # noqa: N802 - reads as a field type
    return fields.Integer(strict=True, validate=PENCE, metadata={"description": "Integer pence."}, **kwargs)  # type: ignore[arg-type]


class AccountIn(Schema):
    preference = fields.String(validate=validate.OneOf(Preference.ALL))
    cap_week_pence = Pence(allow_none=True)
    cap_four_weeks_pence = Pence(allow_none=True)
    cap_tax_year_pence = Pence(allow_none=True)
    four_weeks_from = fields.Date(
        allow_none=True, metadata={"description": "The first day of one of the person's 4-week periods."}
    )


class AccountOut(Schema):
    volunteer_id = fields.String(attribute="id")
    preference = fields.String(metadata={"enum": list(Preference.ALL)})
    cap_week_pence = fields.Integer(allow_none=True)
    cap_four_weeks_pence = fields.Integer(allow_none=True)
    cap_tax_year_pence = fields.Integer(allow_none=True)
    four_weeks_from = fields.Date(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class RateIn(Schema):
    activity_type = fields.String(required=True, validate=validate.OneOf(ActivityType.ALL))
    pence = Pence(required=True)
    basis = fields.String(required=True, validate=validate.OneOf(RateBasis.ALL))
    effective_from = fields.Date(required=True)


class RateOut(Schema):
    id = fields.String()
    activity_type = fields.String()
    pence = fields.Integer()
    basis = fields.String()
    effective_from = fields.Date()
    created_by = fields.String()
    created_at = fields.DateTime()


class ActivityIn(Schema):
    volunteer_id = fields.String(required=True, validate=validate.Length(1, 32))
    activity_type = fields.String(required=True, validate=validate.OneOf(ActivityType.ALL))
    on = fields.Date(metadata={"description": "When they took part; a session's date when left out."})
    minutes = fields.Integer(strict=True, validate=validate.Range(1, 1440))
    match_id = fields.String(validate=validate.Length(1, 32))
    session_id = fields.String(validate=validate.Length(1, 32))
    follow_up_id = fields.String(validate=validate.Length(1, 32))


class TeamAttendanceIn(Schema):
    """A team confirms by its private link that someone introduced to it took part."""

    match_id = fields.String(required=True, validate=validate.Length(1, 32))
    activity_type = fields.String(required=True, validate=validate.OneOf(ActivityType.ALL))
    on = fields.Date(required=True)
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(1, 1440))


class ActivityOut(Schema):
    id = fields.String()
    volunteer_id = fields.String()
    area = fields.String()
    on = fields.Date()
    minutes = fields.Integer()
    activity_type = fields.String()
    source = fields.String()
    recorded_by = fields.String()
    match_id = fields.String(allow_none=True)
    session_id = fields.String(allow_none=True)
    created_at = fields.DateTime()


class TravelIn(Schema):
    volunteer_id = fields.String(required=True, validate=validate.Length(1, 32))
    on = fields.Date(required=True)
    pence = Pence(required=True)
    description = fields.String(required=True, validate=[*SHORT])
    receipt_held = fields.Boolean(required=True)

    @validates("pence")
    def _some(self, value: int, **_: object) -> None:
        if value == 0:
            raise ValidationError("An expense of nothing is not a claim.")


class LineOut(Schema):
    id = fields.String()
    volunteer_id = fields.String()
    area = fields.String()
    kind = fields.String(metadata={"enum": list(LineKind.ALL)})
    on = fields.Date()
    pence = fields.Integer()
    method = fields.String()
    activity_id = fields.String(allow_none=True)
    activity_type = fields.String(allow_none=True)
    minutes = fields.Integer(allow_none=True)
    rate_id = fields.String(allow_none=True)
    rate_pence = fields.Integer(allow_none=True)
    rate_basis = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    receipt_held = fields.Boolean(allow_none=True)
    status = fields.String(metadata={"enum": list(LineStatus.ALL)})
    hold_reason = fields.String(allow_none=True, metadata={"enum": list(HoldReason.ALL)})
    over_by_pence = fields.Integer(allow_none=True, metadata={"description": "How far over the cap the line is."})
    first_approved_by = fields.String(allow_none=True)
    approved_by = fields.String(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    export_id = fields.String(allow_none=True)


class RecordedOut(Schema):
    activity = fields.Nested(ActivityOut)
    line = fields.Nested(LineOut, allow_none=True, metadata={"description": "None when they volunteer unpaid."})


class ClaimArgs(Schema):
    status = fields.String(validate=validate.OneOf(LineStatus.ALL))
    volunteer_id = fields.String(validate=validate.Length(1, 32))


class ActivityArgs(Schema):
    volunteer_id = fields.String(validate=validate.Length(1, 32))


class ExportIn(Schema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM: approved lines dated in it."})

    @validates("month")
    def _month(self, value: str, **_: object) -> None:
        if not MONTH.match(value):
            raise ValidationError("Give a month as YYYY-MM, e.g. 2026-11.")


class ExportOut(Schema):
    id = fields.String()
    month = fields.String()
    areas = fields.List(fields.String())
    made_by = fields.String()
    made_at = fields.DateTime()
    line_count = fields.Integer()
    total_pence = fields.Integer()
    line_ids = fields.List(fields.String(), metadata={"description": "The lines it holds (each in one export only)."})
    csv_url = fields.String()
