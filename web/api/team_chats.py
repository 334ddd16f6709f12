"""Informal chats about involvement: coordinators publish free half hours; QI teams book one."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.services import team_chats
from web.api.access import coordinator, public, rate_limited, refused
from web.auth import current_coordinator
from web.context import services
from web.limits import submissions
from web.schemas import ListArgs
from web.team_chat_schemas import OpenSlotArgs, OpenSlotOut, TeamChatBookingIn, TeamChatIn, TeamChatOut

blp = Blueprint("team_chats", __name__, url_prefix="/api/v1/team-chats", description="Informal chats for QI teams")


@blp.route("")
class TeamChats(MethodView):
    @coordinator
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, TeamChatOut(many=True))
    @refused(blp, "You do not look after that area.")
    def get(self, args: dict[str, Any]) -> Any:
        """Open and booked chats ahead in your areas, soonest first."""
        s = services()
        return team_chats.for_coordinator(s.uow(), current_coordinator(), s.clock, area=args.get("area"))

    @coordinator
    @blp.arguments(TeamChatIn)
    @blp.response(201, TeamChatOut)
    @refused(blp, "You do not look after that area.")
    def post(self, fields: dict[str, Any]) -> Any:
        """Publish a free half hour in one of your areas."""
        s = services()
        return team_chats.publish(s.uow(), fields, current_coordinator(), s.clock)


@blp.route("/open")
class OpenSlots(MethodView):
    @public
    @blp.arguments(OpenSlotArgs, location="query")
    @blp.response(200, OpenSlotOut(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Free slots ahead (no account needed), soonest first; `area` for one area's."""
        s = services()
        return team_chats.open_slots(s.uow(), s.clock, area=args.get("area"))


@blp.route("/<chat_id>/booking")
class Booking(MethodView):
    decorators = [submissions]

    @public
    @rate_limited(blp)
    @blp.arguments(TeamChatBookingIn)
    @blp.response(201, OpenSlotOut)
    @blp.alt_response(409, description="The slot was taken meanwhile, or is past: choose another.")
    def post(self, booking: dict[str, Any], chat_id: str) -> Any:
        """Book a free slot (no account needed): the team and the coordinator get a calendar invitation."""
        s = services()
        return team_chats.book(s.uow(), chat_id, booking, s.clock)


@blp.route("/<chat_id>/cancel")
class Cancel(MethodView):
    @coordinator
    @blp.response(200, TeamChatOut)
    def post(self, chat_id: str) -> Any:
        """Withdraw a slot; a booked one sends both sides a calendar cancellation."""
        s = services()
        return team_chats.cancel(s.uow(), chat_id, current_coordinator(), s.clock)
