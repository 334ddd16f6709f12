"""Schemas for the involvement team's outreach: events, meeting suggestions, the funnel."""

from __future__ import annotations

from marshmallow import fields, validate

from matcher.outreach import OutreachKind
from web.schemas import LONG, SHORT, ListArgs, Schema
from web.vocabulary import Code

KINDS = validate.OneOf([k.value for k in OutreachKind])


class OutreachEventFields(Schema):
    name = fields.String(validate=SHORT)
    held_on = fields.Date(metadata={"description": "The day it was held (or will be)."})
    area = Code("areas")
    kind = fields.String(validate=KINDS, metadata={"enum": [k.value for k in OutreachKind]})
    people_reached = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(0, 100_000),
        metadata={"description": "How many people the team spoke to."},
    )  # fmt: skip
    notes = fields.String(
        allow_none=True, validate=LONG, metadata={"description": "About the event, not about people."}
    )


class OutreachEventIn(OutreachEventFields):
    name = fields.String(required=True, validate=SHORT)
    held_on = fields.Date(required=True)
    area = Code("areas", required=True)
    kind = fields.String(required=True, validate=KINDS, metadata={"enum": [k.value for k in OutreachKind]})


class OutreachEventOut(Schema):
    id = fields.String(attribute="event.id")
    name = fields.String(attribute="event.name")
    held_on = fields.Date(attribute="event.held_on")
    area = fields.String(attribute="event.area")
    kind = fields.String(attribute="event.kind")
    people_reached = fields.Integer(attribute="event.people_reached", allow_none=True)
    notes = fields.String(attribute="event.notes", allow_none=True)
    code = fields.String(attribute="event.code", metadata={"description": "The public sign-up code."})
    sign_up_url = fields.String(metadata={"description": "The link its QR code holds."})
    sign_ups = fields.Integer(metadata={"description": "Offers made through its link."})


class MeetingSuggestionIn(Schema):
    meeting = fields.String(required=True, validate=SHORT, metadata={"description": "The meeting's name."})
    area = Code("areas", required=True)
    details = fields.String(
        required=True, validate=[validate.Length(min=1, max=2000)], metadata={"description": "When and where."}
    )
    why = fields.String(validate=LONG)
    contact_email = fields.Email(validate=validate.Length(max=320))


class MeetingSuggestionOut(Schema):
    id = fields.String()
    meeting = fields.String()
    area = fields.String()
    details = fields.String()
    why = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    created_at = fields.DateTime()
    handled_at = fields.DateTime(allow_none=True)


class FunnelArgs(ListArgs):
    pass


class FunnelRowOut(Schema):
    source = fields.String(metadata={"description": 'An outreach event\'s id, or "direct".'})
    source_name = fields.String()
    month = fields.Date(metadata={"description": "The first day of the month they signed up in."})
    signed_up = fields.Integer()
    suggested = fields.Integer(metadata={"description": "Suggested to a team at least once."})
    introduced = fields.Integer(metadata={"description": "Introduced to a team at least once."})
    involved_again = fields.Integer(metadata={"description": "Introduced to a second team."})
