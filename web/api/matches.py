"""Matches: list, read with timeline and follow-ups, approve, reject, or make one."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.services import decisions, endings, meetings, queries
from web.api.access import conflicts, coordinator, refused
from web.auth import current_coordinator
from web.context import services
from web.paging import PAGE_HEADERS, paged
from web.schemas import MatchDetailOut, MatchIn, MatchListArgs, MatchOut, MeetingIn, ReasonIn

blp = Blueprint("matches", __name__, url_prefix="/api/v1/matches", description="Suggested and approved matches")


@blp.route("")
class Matches(MethodView):
    @coordinator
    @blp.arguments(MatchListArgs, location="query")
    @blp.response(200, MatchOut(many=True), headers=PAGE_HEADERS)
    @refused(blp, "You do not look after the area you asked for.")
    def get(self, args: dict[str, Any]) -> Any:
        page = queries.list_matches(
            services().uow(),
            current_coordinator(),
            area=args.get("area"),
            status=args.get("status"),
            page=args["page"],
            per_page=args["per_page"],
        )
        return paged(page)

    @coordinator
    @blp.arguments(MatchIn)
    @blp.response(201, MatchOut)
    @blp.alt_response(404, response="NotFound")
    @conflicts(
        blp,
        "The volunteer already has a match on this request, a rule keeps them out that a coordinator "
        "cannot override, or the request or volunteer is not in a state to match.",
    )
    def post(self, match_in: dict[str, Any]) -> Any:
        """A coordinator's own match: approved at once; the rules it overrides are on its timeline."""
        s = services()
        return decisions.make_match(
            s.uow(),
            match_in["team_request_id"],
            match_in["volunteer_id"],
            match_in["role"],
            current_coordinator(),
            s.settings.matching,
            s.clock,
        )


@blp.route("/<match_id>")
class OneMatch(MethodView):
    @coordinator
    @blp.response(200, MatchDetailOut)
    def get(self, match_id: str) -> Any:
        return queries.match_view(services().uow(), match_id, current_coordinator())


@blp.route("/<match_id>/approve")
class Approve(MethodView):
    @coordinator
    @blp.response(200, MatchOut)
    @conflicts(
        blp,
        "Not a suggestion any more, withdrawn by a rescore meanwhile, the request is not open, no place is "
        "open for the role, or the volunteer is not active, at capacity or booked at the same time.",
    )
    def post(self, match_id: str) -> Any:
        s = services()
        return decisions.approve(s.uow(), match_id, current_coordinator(), s.clock)


@blp.route("/<match_id>/meeting")
class Meeting(MethodView):
    @coordinator
    @blp.arguments(MeetingIn)
    @blp.response(200, MatchOut)
    @conflicts(blp, "The match has no introductory chat to arrange (a suggestion, rejected or closed).")
    def post(self, body: dict[str, Any], match_id: str) -> Any:
        """Set the introductory chat's time, venue or video link. Once the introductions have
        gone, both parties get an updated calendar invitation (same UID, next SEQUENCE)."""
        s = services()
        return meetings.set_meeting(s.uow(), match_id, current_coordinator(), body, s.clock, s.settings.matching)


@blp.route("/<match_id>/close")
class Close(MethodView):
    @coordinator
    @blp.arguments(ReasonIn)
    @blp.response(200, MatchOut)
    @conflicts(blp, "Only an approved or introduced match can be closed. (Closing it again answers 200.)")
    def post(self, body: dict[str, Any], match_id: str) -> Any:
        """End an involvement: the volunteer's capacity and the team's place are given back."""
        s = services()
        return endings.close_match(s.uow(), match_id, current_coordinator(), body["reason"], s.clock)


@blp.route("/<match_id>/reject")
class Reject(MethodView):
    @coordinator
    @blp.arguments(ReasonIn)
    @blp.response(200, MatchOut)
    @conflicts(blp, "Not a suggestion any more (decided or withdrawn meanwhile).")
    def post(self, body: dict[str, Any], match_id: str) -> Any:
        s = services()
        return decisions.reject(s.uow(), match_id, current_coordinator(), body["reason"], s.clock)
