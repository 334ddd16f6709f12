"""Coordinator accounts on the API: one's own tokens and password; admins' coordinators list,
invitations and deactivation."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.domain import Coordinator
from matcher.services import accounts
from web.account_schemas import (
    AcceptedOut,
    ApiTokenOut,
    CoordinatorIn,
    CoordinatorOut,
    EndedOut,
    PasswordChangeIn,
    ResetIn,
)
from web.api.access import coordinator, public, rate_limited
from web.auth import current_coordinator
from web.context import services
from web.limits import reset_requests

blp = Blueprint(
    "account_api", __name__, url_prefix="/api/v1", description="Coordinator accounts: tokens, passwords, invitations"
)

NOT_ADMIN = "Not an admin coordinator"
RESET_ANSWER = (
    "If this email belongs to a coordinator account, a link to choose a new password is on its way."
    " It works once, for an hour."
)


def coordinator_out(c: Coordinator) -> dict[str, Any]:
    status = "deactivated" if not c.active else "invited" if c.invited else "active"
    return {
        "id": c.id,
        "email": c.email,
        "name": c.name,
        "areas": c.areas,
        "admin": c.admin,
        "status": status,
        "created_at": c.created_at,
    }


@blp.route("/auth/tokens")
class Tokens(MethodView):
    @coordinator
    @blp.response(200, ApiTokenOut(many=True))
    def get(self) -> Any:
        """Your live API tokens, newest first (their secrets are never shown again)."""
        s = services()
        me = current_coordinator()
        this = g.get("api_token_id")
        return [
            {
                "id": t.id,
                "label": t.label,
                "created_at": t.created_at,
                "expires_at": t.expires_at,
                "last_seen_at": t.last_seen_at,
                "current": t.id == this,
            }
            for t in accounts.api_tokens(s.uow(), me, s.clock)
        ]


@blp.route("/auth/tokens/<token_id>")
class OneToken(MethodView):
    @coordinator
    @blp.response(204)
    @blp.alt_response(404, description="Not one of your live tokens")
    def delete(self, token_id: str) -> Any:
        """Revoke one of your API tokens: it stops working at once."""
        s = services()
        accounts.revoke_api_token(s.uow(), current_coordinator(), token_id, s.clock)
        return None


@blp.route("/auth/sign-out-everywhere")
class SignOutEverywhere(MethodView):
    @coordinator
    @blp.response(200, EndedOut)
    def post(self) -> Any:
        """End every API token and page session of your account, this token too."""
        s = services()
        return {"ended": accounts.sign_out_everywhere(s.uow(), current_coordinator(), s.clock)}


@blp.route("/auth/password")
class Password(MethodView):
    @coordinator
    @blp.arguments(PasswordChangeIn)
    @blp.response(204)
    @blp.alt_response(422, description="current_password is wrong, or password is too short or too common")
    def post(self, body: dict[str, Any]) -> Any:
        """Change your password (your page sessions elsewhere end; API tokens stay until revoked)."""
        s = services()
        accounts.change_password(s.uow(), current_coordinator(), body["current_password"], body["password"], s.clock)
        return None


@blp.route("/auth/password-reset")
class PasswordReset(MethodView):
    decorators = [reset_requests]

    @public
    @rate_limited(blp)
    @blp.arguments(ResetIn)
    @blp.response(202, AcceptedOut)
    def post(self, body: dict[str, Any]) -> Any:
        """Email a link to choose a new password. The answer is the same whether or not the email is known."""
        s = services()
        accounts.ask_for_reset(s.uow(), body["email"], s.clock)
        return {"message": RESET_ANSWER}


@blp.route("/coordinators")
class Coordinators(MethodView):
    @coordinator
    @blp.response(200, CoordinatorOut(many=True))
    @blp.alt_response(403, description=NOT_ADMIN)
    def get(self) -> Any:
        """Every coordinator account (admins only)."""
        return [coordinator_out(c) for c in accounts.coordinators(services().uow(), current_coordinator())]

    @coordinator
    @blp.arguments(CoordinatorIn)
    @blp.response(201, CoordinatorOut)
    @blp.alt_response(403, description=NOT_ADMIN)
    @blp.alt_response(409, description="A coordinator with this email exists")
    def post(self, body: dict[str, Any]) -> Any:
        """Invite a coordinator (admins only): they are emailed a single-use link to set a password."""
        s = services()
        made = accounts.invite(
            s.uow(),
            current_coordinator(),
            body["email"],
            body["areas"],
            s.clock,
            name=body.get("name"),
            admin=body["admin"],
        )
        return coordinator_out(made)


@blp.route("/coordinators/<coordinator_id>/deactivate")
class Deactivate(MethodView):
    @coordinator
    @blp.response(200, CoordinatorOut)
    @blp.alt_response(403, description=NOT_ADMIN)
    @blp.alt_response(404, description="No such coordinator")
    @blp.alt_response(409, description="Your own account (another admin must do it)")
    def post(self, coordinator_id: str) -> Any:
        """Deactivate an account (admins only): it can no longer sign in; its sessions and tokens end."""
        s = services()
        return coordinator_out(accounts.deactivate(s.uow(), current_coordinator(), coordinator_id, s.clock))
