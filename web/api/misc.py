"""Vocabularies and coordinator tokens."""

from __future__ import annotations

import re
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from matcher.domain import Term
from matcher.errors import Forbidden, Invalid
from matcher.services import coordinators
from matcher.taxonomy import CODE_RULES
from web.auth import current_coordinator, issue_token
from web.context import forget_taxonomy, services, taxonomy
from web.limits import limiter
from web.schemas import TermIn, TokenIn, TokenOut

CODE = re.compile(r"[a-z0-9_]{1,60}")
blp = Blueprint("misc", __name__, url_prefix="/api/v1", description="Vocabularies and sign-in")


@blp.route("/taxonomy")
class Taxonomy(MethodView):
    def get(self) -> Any:
        """The controlled vocabularies: every coded field uses one of these codes."""
        return taxonomy()


@blp.route("/taxonomy/<vocabulary>/<code>")
class OneTerm(MethodView):
    @blp.arguments(TermIn)
    def put(self, body: dict[str, Any], vocabulary: str, code: str) -> Any:
        """Add or relabel a code, or retire it (active=false). Admin coordinators only."""
        if not current_coordinator().admin:
            raise Forbidden("only an admin coordinator edits the shared vocabularies")
        if vocabulary not in taxonomy():
            abort(404, message=f"no vocabulary {vocabulary}")
        if not CODE.fullmatch(code):
            raise Invalid({"code": ["Use 1-60 lower-case letters, digits and underscores."]})
        if vocabulary in CODE_RULES and not re.fullmatch(CODE_RULES[vocabulary][0], code):
            raise Invalid({"code": [CODE_RULES[vocabulary][1]]})
        with services().uow() as uow:
            found = uow.terms.where(vocabulary=vocabulary, code=code)
            term = found[0] if found else Term(vocabulary=vocabulary, code=code, label=body["label"], position=999)
            if not found:
                uow.terms.add(term)
            term.label, term.active = body["label"], body["active"]
            uow.commit()
        forget_taxonomy()
        return {"vocabulary": vocabulary, "code": code, "label": body["label"], "active": body["active"]}


@blp.route("/auth/token")
class Token(MethodView):
    decorators = [limiter.limit(lambda: __import__("flask").current_app.config["SIGN_IN_RATE_LIMIT"])]

    @blp.arguments(TokenIn)
    @blp.response(200, TokenOut)
    def post(self, body: dict[str, Any]) -> Any:
        s = services()
        coordinator = coordinators.authenticate(s.uow(), body["email"], body["password"])
        token, expires_at = issue_token(coordinator, s.clock.now())
        return {"token": token, "expires_at": expires_at}
