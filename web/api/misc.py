"""Vocabularies and coordinator tokens."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.services import coordinators, vocabularies
from matcher.taxonomy import STARTING_TERMS
from web.api.access import conflicts, coordinator, public, rate_limited, refused
from web.auth import current_coordinator, issue_token
from web.context import forget_taxonomy, services, taxonomy
from web.limits import limiter
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
    decorators = [limiter.limit(lambda: __import__("flask").current_app.config["SIGN_IN_RATE_LIMIT"])]

    @public
    @blp.arguments(TokenIn)
    @blp.response(200, TokenOut)
    @blp.alt_response(401, schema=ErrorOut, description="Wrong email or password.")
    @rate_limited(blp)
    def post(self, body: dict[str, Any]) -> Any:
        s = services()
        coordinator = coordinators.authenticate(s.uow(), body["email"], body["password"])
        token, expires_at = issue_token(coordinator, s.clock.now())
        return {"token": token, "expires_at": expires_at}
