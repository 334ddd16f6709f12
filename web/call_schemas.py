"""The call list's schemas: listing calls, and marking one as made with a note."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, fields, validate

from matcher.calls import NOTE_MAX, CallReason, CallStatus, CallSubject
from web.schemas import NOT_BLANK, Schema, StrictBoolean, coded
from web.vocabulary import Code


class CallListArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(
        load_default=CallStatus.OWED,
        validate=validate.OneOf(CallStatus.ALL),
        metadata={"description": "owed (the default): most overdue first; done: the calls made, latest first."},
    )
    area = Code("areas")
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class CalledIn(Schema):
    """What was said on the call: required, a few paragraphs at most."""

    note = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=NOTE_MAX), NOT_BLANK],
        metadata={"description": "What was said, and what happens next. Shown on the timelines; erasure clears it."},
    )
    rating = fields.Integer(
        allow_none=True,
        load_default=None,
        validate=validate.Range(1, 5, error="Choose how it is going, from 1 to 5."),
        metadata={"description": "A feedback call only: how it is going, 1 (badly) to 5 (very well), as they said."},
    )
    wants_stop = StrictBoolean(
        load_default=False, metadata={"description": "A feedback call only: they said they want to stop."}
    )


class CallOut(Schema):
    """One call on the list (queries.CallLine): whom to ring, why, about what, and whether it was made."""

    id = fields.String()
    status = coded(CallStatus.ALL)
    reason = coded(CallReason.ALL)
    about = coded(CallSubject.ALL, metadata={"description": "What subject_id is: a match, a feedback form or answer…"})
    subject_id = fields.String()
    volunteer_id = fields.String()
    volunteer_name = fields.String()
    phone = fields.String(allow_none=True, metadata={"description": "The number on record; null if they gave none."})
    match_id = fields.String(allow_none=True)
    team_request_id = fields.String(allow_none=True)
    project_title = fields.String(allow_none=True)
    owed_at = fields.DateTime()
    called_at = fields.DateTime(allow_none=True)
    called_by = fields.String(allow_none=True, metadata={"description": "The coordinator who rang: an id."})
    note = fields.String(allow_none=True, metadata={"description": "The coordinator's note; cleared by erasure."})

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        call = obj.call
        derived = {
            "about": call.subject_kind,
            "volunteer_name": obj.volunteer.name,
            "phone": obj.volunteer.phone,
            "team_request_id": obj.request.id if obj.request else None,
            "project_title": obj.request.project_title if obj.request else None,
        }
        if attr in derived:
            return derived[attr]
        return getattr(call, attr, default)
