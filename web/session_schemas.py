"""The sessions API's schemas (``web.api.sessions``): the same rules as ``web.schemas``,
one source for validation and for OpenAPI."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from matcher.programme_sessions import BookingStatus, SessionKind, SessionStatus
from matcher.services.sessions import MAX_CAPACITY
from web.schemas import SHORT, VENUE, VIDEO_LINK, ListArgs, PartsOf, Schema
from web.vocabulary import Code

PLACES = f"Between 1 and {MAX_CAPACITY} places."
KINDS = ", ".join(SessionKind.ALL)


class SessionFields(Schema):
    """What a session may say, shared by scheduling and changing one."""

    kind = fields.String(validate=validate.OneOf(SessionKind.ALL), metadata={"description": f"One of {KINDS}."})
    title = fields.String(
        allow_none=True, validate=SHORT, metadata={"description": "Shown instead of the kind's name."}
    )
    area = Code("areas")
    starts_at = fields.AwareDateTime(metadata={"description": "With its UTC offset, e.g. 2026-03-10T14:00:00+00:00."})
    ends_at = fields.AwareDateTime()
    venue = fields.String(allow_none=True, validate=VENUE, metadata={"description": "Where it is held."})
    video_link = fields.String(allow_none=True, validate=VIDEO_LINK, metadata={"description": "Its call link."})
    capacity = fields.Integer(strict=True, validate=validate.Range(1, MAX_CAPACITY, error=PLACES))
    training = Code(
        "trainings",
        allow_none=True,
        metadata={"description": "The training attendance verifies (a trainings code); none for an introduction."},
    )

    @validates_schema(skip_on_field_errors=False)  # every bad field named at once
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("The end must be after the start.", "ends_at")


class SessionIn(SessionFields):
    kind = fields.String(
        required=True, validate=validate.OneOf(SessionKind.ALL), metadata={"description": f"One of {KINDS}."}
    )
    area = Code("areas", required=True)
    starts_at = fields.AwareDateTime(required=True, metadata={"description": "With its UTC offset."})
    ends_at = fields.AwareDateTime(required=True)
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(1, MAX_CAPACITY, error=PLACES))

    @validates_schema(skip_on_field_errors=False)
    def _somewhere(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("venue") or data.get("video_link")):
            raise ValidationError("Give a place or a video link.", "venue")


class SessionPatch(SessionFields):
    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Give at least one field to change.", "_schema")


class SessionOut(PartsOf, Schema):
    """A session and its places (queries.SessionSummary)."""

    subject, parts = "session", ("booked", "waiting", "places_left")
    id = fields.String()
    kind = fields.String()
    title = fields.String(allow_none=True)
    area = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    venue = fields.String(allow_none=True)
    video_link = fields.String(allow_none=True)
    capacity = fields.Integer()
    training = fields.String(allow_none=True)
    status = fields.String(metadata={"description": " or ".join(SessionStatus.ALL)})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    booked = fields.Integer(metadata={"description": "Places taken."})
    waiting = fields.Integer(metadata={"description": "People on the waiting list."})
    places_left = fields.Integer()


class SessionListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(SessionStatus.ALL))


class BookingOut(PartsOf, Schema):
    """One person's booking (queries.BookingLine)."""

    subject, parts = "booking", ("volunteer_name", "position")
    id = fields.String()
    session_id = fields.String()
    volunteer_id = fields.String()
    volunteer_name = fields.String()
    status = fields.String(metadata={"description": " or ".join(BookingStatus.ALL)})
    position = fields.Integer(allow_none=True, metadata={"description": "On the waiting list: 1 moves up next."})
    from_waiting_list = fields.Boolean(metadata={"description": "Their place came up from the waiting list."})
    attended = fields.Boolean(allow_none=True, metadata={"description": "Null until attendance is marked."})
    attendance_by = fields.String(allow_none=True, metadata={"description": "The coordinator who marked it."})
    attendance_on = fields.Date(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class BookingIn(Schema):
    volunteer_id = fields.String(required=True, validate=SHORT)


class BookingCreatedOut(Schema):
    """The booking made: a place (booked) or the waiting list (waiting)."""

    id = fields.String()
    session_id = fields.String()
    volunteer_id = fields.String()
    status = fields.String()


class AttendanceMark(Schema):
    volunteer_id = fields.String(required=True, validate=SHORT)
    attended = fields.Boolean(required=True)


class AttendanceIn(Schema):
    marks = fields.List(fields.Nested(AttendanceMark), required=True, validate=validate.Length(min=1, max=MAX_CAPACITY))

    @validates_schema
    def _once_each(self, data: dict[str, Any], **_: Any) -> None:
        ids = [m["volunteer_id"] for m in data.get("marks", [])]
        if len(ids) != len(set(ids)):
            raise ValidationError("Mark each volunteer once.", "marks")
