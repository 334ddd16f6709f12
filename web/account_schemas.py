"""The shapes of the account endpoints (tokens, passwords, coordinators)."""

from __future__ import annotations

from marshmallow import fields, validate

from web.schemas import ONE_LINE, Schema
from web.vocabulary import Code


class ApiTokenOut(Schema):
    id = fields.String(metadata={"description": "What DELETE /api/v1/auth/tokens/{id} takes."})
    label = fields.String(allow_none=True)
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    last_seen_at = fields.DateTime(allow_none=True, metadata={"description": "Last used (to the minute)."})
    current = fields.Boolean(metadata={"description": "Whether this is the token the request came with."})


class EndedOut(Schema):
    ended = fields.Integer(metadata={"description": "How many sessions and tokens ended."})


class PasswordChangeIn(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=500))
    password = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "The new password: at least 12 characters, not a common password."},
    )


class ResetIn(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=320))


class AcceptedOut(Schema):
    message = fields.String()


class CoordinatorIn(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    areas = fields.List(Code("areas"), required=True, validate=validate.Length(min=1, max=50))
    name = fields.String(allow_none=True, validate=[validate.Length(max=200), ONE_LINE])
    admin = fields.Boolean(load_default=False)


class CoordinatorOut(Schema):
    id = fields.String()
    email = fields.String()
    name = fields.String(allow_none=True)
    areas = fields.List(fields.String())
    admin = fields.Boolean()
    status = fields.String(
        validate=validate.OneOf(["active", "invited", "deactivated"]),
        metadata={"description": "invited: the emailed link to set a password is not used yet."},
    )
    created_at = fields.DateTime(allow_none=True)
