"""The programme's sessions: schedule, change, cancel; bookings and attendance under each."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.services import queries, sessions
from web.api.access import conflicts, coordinator, refused
from web.auth import current_coordinator
from web.context import services
from web.paging import paged
from web.session_schemas import (
    AttendanceIn,
    BookingCreatedOut,
    BookingIn,
    BookingOut,
    SessionIn,
    SessionListArgs,
    SessionOut,
    SessionPatch,
)

blp = Blueprint(
    "sessions",
    __name__,
    url_prefix="/api/v1/sessions",
    description="Introductory sessions and QI training: places, waiting lists, attendance",
)


def _summary(session_id: str) -> Any:
    return queries.session_view(services().uow(), session_id, current_coordinator()).summary


@blp.route("")
class Sessions(MethodView):
    @coordinator
    @blp.arguments(SessionListArgs, location="query")
    @blp.response(200, SessionOut(many=True))
    @refused(blp, "You do not look after that area.")
    def get(self, args: dict[str, Any]) -> Any:
        """Sessions in your areas, soonest first."""
        page = queries.list_sessions(
            services().uow(),
            current_coordinator(),
            area=args.get("area"),
            status=args.get("status"),
            page=args["page"],
            per_page=args["per_page"],
        )
        return paged(page)

    @coordinator
    @blp.arguments(SessionIn)
    @blp.response(201, SessionOut)
    @refused(blp, "You do not look after that area.")
    def post(self, body: dict[str, Any]) -> Any:
        """Schedule a session in one of your areas."""
        s = services()
        session = sessions.schedule(s.uow(), body, current_coordinator(), s.clock)
        return _summary(session.id)


@blp.route("/<session_id>")
class OneSession(MethodView):
    @coordinator
    @blp.response(200, SessionOut)
    def get(self, session_id: str) -> Any:
        return _summary(session_id)

    @coordinator
    @blp.arguments(SessionPatch)
    @blp.response(200, SessionOut)
    @refused(blp, "You do not look after that area.")
    @conflicts(blp, "A cancelled session, or one that has begun, cannot be changed.")
    def patch(self, changes: dict[str, Any], session_id: str) -> Any:
        """Change a session. A new time or place sends booked people an updated calendar
        invitation; more places move the waiting list up; fewer than are booked is a 422."""
        s = services()
        sessions.update(s.uow(), session_id, changes, current_coordinator(), s.clock, s.settings.matching)
        return _summary(session_id)


@blp.route("/<session_id>/cancel")
class Cancel(MethodView):
    @coordinator
    @blp.response(200, SessionOut)
    @conflicts(blp, "The session is cancelled already.")
    def post(self, session_id: str) -> Any:
        """Cancel the session: booked people's calendar entries are cancelled, everyone is told."""
        s = services()
        sessions.cancel_session(s.uow(), session_id, current_coordinator(), s.clock)
        return _summary(session_id)


@blp.route("/<session_id>/bookings")
class Bookings(MethodView):
    @coordinator
    @blp.response(200, BookingOut(many=True))
    def get(self, session_id: str) -> Any:
        """Booked people, then the waiting list in the order it moves up, then cancellations."""
        view = queries.session_view(services().uow(), session_id, current_coordinator())
        return [*view.booked, *view.waiting, *view.cancelled]

    @coordinator
    @blp.arguments(BookingIn)
    @blp.response(201, BookingCreatedOut)
    @conflicts(
        blp, "The session is no longer open for booking, the volunteer has stopped, or is booked or waiting already."
    )
    def post(self, body: dict[str, Any], session_id: str) -> Any:
        """Book a volunteer you can see: a place if one is free, else the waiting list."""
        s = services()
        return sessions.book(
            s.uow(), session_id, body["volunteer_id"], s.clock, s.settings.matching, coordinator=current_coordinator()
        )


@blp.route("/<session_id>/bookings/<volunteer_id>/cancel")
class CancelBooking(MethodView):
    @coordinator
    @blp.response(200, BookingCreatedOut)
    @conflicts(blp, "No booking of this session to cancel, or the session has begun.")
    def post(self, session_id: str, volunteer_id: str) -> Any:
        """Cancel someone's booking; a place given back goes to the first on the waiting list."""
        s = services()
        return sessions.cancel_booking(
            s.uow(), session_id, volunteer_id, s.clock, s.settings.matching, coordinator=current_coordinator()
        )


@blp.route("/<session_id>/attendance")
class Attendance(MethodView):
    @coordinator
    @blp.response(200, BookingOut(many=True))
    def get(self, session_id: str) -> Any:
        """Everyone with a place, with their attendance (null until marked)."""
        return queries.session_view(services().uow(), session_id, current_coordinator()).booked

    @coordinator
    @blp.arguments(AttendanceIn)
    @blp.response(200, BookingOut(many=True))
    @conflicts(blp, "A cancelled session has no attendance; attendance is marked once the session has begun.")
    def post(self, body: dict[str, Any], session_id: str) -> Any:
        """Mark who came, once the session has begun. Attendance at a session that confers a
        training verifies it (by you, today): the roles that require it open to the volunteer,
        and their suggestions are scored again."""
        s = services()
        sessions.mark_attendance(s.uow(), session_id, body["marks"], current_coordinator(), s.clock)
        return queries.session_view(s.uow(), session_id, current_coordinator()).booked
