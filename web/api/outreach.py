"""The involvement team's outreach: events with their sign-up links and QR codes,
meetings people suggest it attends, and the funnel per source and month."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.services import outreach
from web.api.access import coordinator, public, rate_limited, refused
from web.auth import current_coordinator
from web.context import services
from web.limits import submissions
from web.outreach_schemas import (
    FunnelArgs,
    FunnelRowOut,
    MeetingSuggestionIn,
    MeetingSuggestionOut,
    OutreachEventFields,
    OutreachEventIn,
    OutreachEventOut,
)
from web.paging import paged
from web.qr import FORMATS, qr_code, sign_up_url
from web.schemas import ListArgs, Receipt

blp = Blueprint(
    "outreach_events", __name__, url_prefix="/api/v1", description="Outreach events and where people came from"
)


def _out(view: outreach.EventView) -> dict[str, Any]:
    return {"event": view.event, "sign_ups": view.sign_ups, "sign_up_url": sign_up_url(view.event)}


@blp.route("/outreach-events")
class OutreachEvents(MethodView):
    @coordinator
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, OutreachEventOut(many=True))
    @refused(blp, "You do not look after that area.")
    def get(self, args: dict[str, Any]) -> Any:
        """Events in your areas, latest first, with how many signed up through each."""
        page = outreach.list_events(
            services().uow(), current_coordinator(), area=args.get("area"), page=args["page"], per_page=args["per_page"]
        )
        page.items = [_out(v) for v in page.items]
        return paged(page)

    @coordinator
    @blp.arguments(OutreachEventIn)
    @blp.response(201, OutreachEventOut)
    @refused(blp, "You do not look after that area.")
    def post(self, fields: dict[str, Any]) -> Any:
        """Record an event (a stall, a community meeting, a talk): it gets its own sign-up link."""
        s = services()
        coordinator = current_coordinator()
        event = outreach.record_event(s.uow(), fields, coordinator, s.clock)
        return _out(outreach.EventView(event, 0))


@blp.route("/outreach-events/<event_id>")
class OneOutreachEvent(MethodView):
    @coordinator
    @blp.response(200, OutreachEventOut)
    def get(self, event_id: str) -> Any:
        """One event, with its sign-up link and how many signed up through it."""
        return _out(outreach.get_event(services().uow(), event_id, current_coordinator()))

    @coordinator
    @blp.arguments(OutreachEventFields)
    @blp.response(200, OutreachEventOut)
    @refused(blp, "You do not look after that area.")
    def patch(self, changes: dict[str, Any], event_id: str) -> Any:
        """Correct an event, or add how many people the team spoke to."""
        s = services()
        coordinator = current_coordinator()
        outreach.update_event(s.uow(), event_id, changes, coordinator, s.clock)
        return _out(outreach.get_event(s.uow(), event_id, coordinator))


BINARY = {"type": "string", "format": "binary"}


def _qr(event_id: str, kind: str) -> Response:
    view = outreach.get_event(services().uow(), event_id, current_coordinator())
    return Response(qr_code(view.event, kind), mimetype=FORMATS[kind])


@blp.route("/outreach-events/<event_id>/qr.svg")
class QrSvg(MethodView):
    @coordinator
    @blp.response(200, BINARY, content_type="image/svg+xml", description="The QR code, for print.")
    def get(self, event_id: str) -> Any:
        """The event's sign-up link as a QR code in SVG (scales to any size for posters)."""
        return _qr(event_id, "svg")


@blp.route("/outreach-events/<event_id>/qr.png")
class QrPng(MethodView):
    @coordinator
    @blp.response(200, BINARY, content_type="image/png", description="The QR code, as a picture.")
    def get(self, event_id: str) -> Any:
        """The event's sign-up link as a QR code in PNG (for slides and posts)."""
        return _qr(event_id, "png")


@blp.route("/meeting-suggestions")
class MeetingSuggestions(MethodView):
    decorators = [submissions]

    @public
    @rate_limited(blp)
    @blp.arguments(MeetingSuggestionIn)
    @blp.response(201, Receipt)
    def post(self, fields: dict[str, Any]) -> Any:
        """Tell the team about a meeting it should attend (no account needed)."""
        s = services()
        suggestion = outreach.suggest_meeting(s.uow(), fields, s.clock)
        return {"id": suggestion.id, "status": "received"}

    @coordinator
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, MeetingSuggestionOut(many=True))
    @refused(blp, "You do not look after that area.")
    def get(self, args: dict[str, Any]) -> Any:
        """Suggestions in your areas not dealt with yet, oldest first."""
        return outreach.open_suggestions(services().uow(), current_coordinator(), area=args.get("area"))


@blp.route("/meeting-suggestions/<suggestion_id>/handled")
class HandledSuggestion(MethodView):
    @coordinator
    @blp.response(200, MeetingSuggestionOut)
    def post(self, suggestion_id: str) -> Any:
        """Dealt with: it leaves the list and the suggester's address is cleared."""
        s = services()
        return outreach.handle_suggestion(s.uow(), suggestion_id, current_coordinator(), s.clock)


@blp.route("/programme/funnel")
class Funnel(MethodView):
    @coordinator
    @blp.arguments(FunnelArgs, location="query")
    @blp.response(200, FunnelRowOut(many=True))
    @refused(blp, "You do not look after that area.")
    def get(self, args: dict[str, Any]) -> Any:
        """Sign-ups per source (outreach event, or "direct") and month, and how far they went:
        suggested, introduced, involved a second time."""
        return outreach.funnel(services().uow(), current_coordinator(), area=args.get("area"))
