"""Vocabularies and coordinator tokens."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.errors import Unauthorised
from matcher.services import accounts, audit, coordinators, vocabularies
from matcher.taxonomy import STARTING_TERMS
from web.api.access import conflicts, coordinator, public, rate_limited, refused
from web.auth import current_coordinator, issue_token
from web.context import forget_taxonomy, services, taxonomy
from web.limits import sign_ins
from web.openapi import CODE
from web.schemas import ErrorOut, TaxonomyOut, TermIn, TermOut, TokenIn, TokenOut

blp = Blueprint("misc", __name__, url_prefix="/api/v1", description="Vocabularies and sign-in")


@blp.route("/taxonomy")
class Taxonomy(MethodView):
    @public
    @blp.response(200, TaxonomyOut)
    def get(self) -> Any:
        """The controlled vocabularies: every coded field uses one of these codes."""
        return taxonomy()


@blp.route(
    "/taxonomy/<vocabulary>/<code>",
    parameters=[
        {"in": "path", "name": "vocabulary", "schema": {"type": "string", "enum": list(STARTING_TERMS)}},
        {"in": "path", "name": "code", "schema": {"type": "string", "pattern": CODE}},
    ],
)
class OneTerm(MethodView):
    @coordinator
    @blp.arguments(TermIn)
    @blp.response(200, TermOut)
    @refused(blp, "Only an admin coordinator edits the vocabularies.")
    @conflicts(blp, "Another admin changed this code at the same moment; try again.")
    def put(self, body: dict[str, Any], vocabulary: str, code: str) -> Any:
        """Add or relabel a code, or retire it (active=false). Admin coordinators only."""
        s = services()
        term = vocabularies.set_term(
            s.uow(), current_coordinator(), vocabulary, code, body["label"], body["active"], s.clock
        )
        forget_taxonomy()
        return term


@blp.route("/auth/token")
class Token(MethodView):
    decorators = [sign_ins]

    @public
    @blp.arguments(TokenIn)
    @blp.response(200, TokenOut)
    @blp.alt_response(401, schema=ErrorOut, description="Wrong email, password or one-time code (never says which).")
    @rate_limited(blp)
    def post(self, body: dict[str, Any]) -> Any:
        """Sign in: a bearer token for the API. With TOTP required (the default), ``otp`` too."""
        s = services()
        try:
            coordinator = coordinators.authenticate(
                s.uow(), body["email"], body["password"], s.clock, body.get("otp"), s.settings.require_totp
            )
        except Unauthorised:
            audit.sign_in(s.uow(), body["email"], None, s.clock, via="api")
            raise
        audit.sign_in(s.uow(), body["email"], coordinator, s.clock, via="api")
        token, expires_at = issue_token(coordinator, body.get("label"))
        return {"token": token, "id": accounts.token_id(token), "expires_at": expires_at}
