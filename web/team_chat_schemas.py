"""Schemas for informal chats about involvement (``/api/v1/team-chats``)."""

from __future__ import annotations

from marshmallow import fields, validate

from matcher.team_chats import TeamChatStatus
from web.schemas import LONG, SHORT, VENUE, Schema
from web.vocabulary import Code


class TeamChatIn(Schema):
    starts_at = fields.AwareDateTime(
        required=True, metadata={"description": "When the half hour starts (with its UTC offset)."}
    )
    area = Code("areas", required=True)
    place = fields.String(
        validate=VENUE, metadata={"description": "A room, or the video link the invitation carries."}
    )


class ContactIn(Schema):
    name = fields.String(required=True, validate=SHORT)
    email = fields.Email(required=True, validate=validate.Length(max=320))


class TeamChatBookingIn(Schema):
    team_name = fields.String(required=True, validate=SHORT)
    contact = fields.Nested(ContactIn, required=True)
    about = fields.String(validate=LONG, metadata={"description": "What the team would like to talk about."})


class OpenSlotOut(Schema):
    """What anyone may see of a free slot: when and where, not who else booked what."""

    id = fields.String()
    area = fields.String()
    starts_at = fields.DateTime()
    minutes = fields.Integer()


class TeamChatOut(OpenSlotOut):
    coordinator_id = fields.String()
    place = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(TeamChatStatus.ALL)})
    team_request_id = fields.String(allow_none=True)
    team_name = fields.String(allow_none=True)
    contact_name = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    about = fields.String(allow_none=True)
    booked_at = fields.DateTime(allow_none=True)


class OpenSlotArgs(Schema):
    area = Code("areas")
