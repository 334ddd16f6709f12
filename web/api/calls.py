"""The coordinators' call list: who is owed a call and why; a call marked as made, with a note."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.services import calls, queries
from web.api.access import conflicts, coordinator, refused
from web.auth import current_coordinator
from web.call_schemas import CalledIn, CallListArgs, CallOut
from web.context import services
from web.paging import PAGE_HEADERS, paged

blp = Blueprint("calls", __name__, url_prefix="/api/v1/calls", description="The call list: volunteers owed a call")


@blp.route("")
class Calls(MethodView):
    @coordinator
    @blp.arguments(CallListArgs, location="query")
    @blp.response(200, CallOut(many=True), headers=PAGE_HEADERS)
    @refused(blp, "You do not look after the area you asked for.")
    def get(self, args: dict[str, Any]) -> Any:
        """Calls owed in your areas, most overdue first (``status=owed``, the default), or the
        calls made, latest first (``status=done``). docs/calls.md says when each is owed."""
        page = queries.list_calls(
            services().uow(),
            current_coordinator(),
            status=args["status"],
            area=args.get("area"),
            page=args["page"],
            per_page=args["per_page"],
        )
        return paged(page)


@blp.route("/<call_id>/called")
class Called(MethodView):
    @coordinator
    @blp.arguments(CalledIn)
    @blp.response(200, CallOut)
    @conflicts(
        blp,
        "The call was marked as made already (its first note stands, and this one is not kept), or the"
        " volunteer answered the feedback form themselves meanwhile.",
    )
    def post(self, body: dict[str, Any], call_id: str) -> Any:
        """Mark the call as made, with a note: it leaves the list, and the note shows on the
        volunteer's timeline (and the match's). Marking it again is a 409 that changes nothing.
        On a feedback call, ``rating`` and ``wants_stop`` keep the answers they gave on the phone
        as their feedback form's answer (a 409 if they answered the form themselves meanwhile)."""
        s = services()
        me = current_coordinator()
        calls.record(s.uow(), call_id, me, body["note"], s.clock, body["rating"], body["wants_stop"])
        return queries.call_line(s.uow(), call_id, me)
