"""QI teams' involvement requests, their suggestions and why someone was left out."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.services import endings, intake, queries
from web.api.access import conflicts, coordinator, public, rate_limited, refused
from web.auth import current_coordinator
from web.context import services
from web.limits import submissions
from web.paging import PAGE_HEADERS, paged
from web.schemas import (
    RequestListArgs,
    RequestReceipt,
    SuggestionOut,
    TeamRequestIn,
    TeamRequestOut,
    TeamRequestSummaryOut,
    WhyNotArgs,
    WhyNotOut,
)

blp = Blueprint("team_requests", __name__, url_prefix="/api/v1/team-requests", description="Teams' requests")


@blp.route("")
class TeamRequests(MethodView):
    decorators = [submissions]

    @public
    @blp.arguments(TeamRequestIn)
    @blp.response(201, RequestReceipt)
    @rate_limited(blp)
    def post(self, request_in: dict[str, Any]) -> Any:
        """Submit a request for involvement (no account needed)."""
        s = services()
        return intake.submit_request(s.uow(), request_in, s.clock)

    @coordinator
    @blp.arguments(RequestListArgs, location="query")
    @blp.response(200, TeamRequestSummaryOut(many=True), headers=PAGE_HEADERS)
    @refused(blp, "You do not look after the area you asked for.")
    def get(self, args: dict[str, Any]) -> Any:
        """List requests in your areas (coordinators), newest first."""
        page = queries.list_requests(
            services().uow(),
            current_coordinator(),
            area=args.get("area"),
            status=args.get("status"),
            page=args["page"],
            per_page=args["per_page"],
        )
        return paged(page)


@blp.route("/<request_id>")
class OneTeamRequest(MethodView):
    @coordinator
    @blp.response(200, TeamRequestOut)
    def get(self, request_id: str) -> Any:
        """A request with its status and the matches so far (suggestions are listed apart)."""
        return queries.get_request(services().uow(), request_id, current_coordinator())


@blp.route("/<request_id>/close")
class Close(MethodView):
    @coordinator
    @blp.response(200, RequestReceipt)
    @conflicts(blp, "Someone changed the request at the same moment; try again. (Closing it again answers 200.)")
    def post(self, request_id: str) -> Any:
        """The project needs nobody more: suggestions end, commitments close, chats are cancelled."""
        s = services()
        return endings.close_request(s.uow(), request_id, current_coordinator(), s.clock)


@blp.route("/<request_id>/suggestions")
class Suggestions(MethodView):
    @coordinator
    @blp.response(200, SuggestionOut(many=True))
    def get(self, request_id: str) -> Any:
        """Ranked suggestions: the proposed assignment first, then alternates; each with its factors."""
        found = queries.suggestions(services().uow(), request_id, current_coordinator())
        return [
            {
                "match_id": m.id,
                "volunteer_id": m.volunteer_id,
                "volunteer_name": v.name,
                "role": m.role,
                "score": m.score,
                "factors": m.factors,
                "proposed": m.proposed,
                "rank": m.rank,
                "volunteer_exclusions": v.exclusions,
            }
            for m, v in found
        ]


@blp.route("/<request_id>/why-not")
class WhyNot(MethodView):
    @coordinator
    @blp.arguments(WhyNotArgs, location="query")
    @blp.response(200, WhyNotOut)
    def get(self, args: dict[str, Any], request_id: str) -> Any:
        """Every rule that keeps a volunteer from being suggested, per role of the request."""
        s = services()
        return queries.why_not_suggested(
            s.uow(), request_id, args["volunteer_id"], current_coordinator(), s.settings.matching
        )
