"""Volunteers' offers: anyone may register one; coordinators read and change them."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.services import intake, on_request, queries
from web.api.access import conflicts, coordinator, public_or_coordinator, rate_limited, refused
from web.auth import current_coordinator, optional_coordinator
from web.context import services
from web.limits import submissions
from web.paging import PAGE_HEADERS, paged
from web.schemas import (
    ErasedOut,
    OfferReceipt,
    VolunteerExportOut,
    VolunteerIn,
    VolunteerListArgs,
    VolunteerOut,
    VolunteerPatch,
)

blp = Blueprint("volunteers", __name__, url_prefix="/api/v1/volunteers", description="Volunteers' offers")


@blp.route("")
class Volunteers(MethodView):
    decorators = [submissions]

    @public_or_coordinator
    @blp.arguments(VolunteerIn)
    @blp.response(
        201,
        OfferReceipt,
        description="Stored. Anonymous, with QIMATCH_CONFIRM_EMAILS on (the default), the status is "
        '"unconfirmed": a private link is emailed to the address, and the offer is matchable once its '
        'owner opens it and confirms. With a coordinator\'s bearer token the status is "active": the '
        "account vouches for the address.",
    )
    @conflicts(
        blp,
        "An offer with this email address (compared without case, width or invisible "
        'characters) is already registered: {"message": ..., "errors": {"email": [...]}}. Someone who '
        "withdrew may register again.",
    )
    @rate_limited(blp)
    def post(self, offer: dict[str, Any]) -> Any:
        """Register an offer (no account needed); one live offer per email address.

        A coordinator's token makes it an offer they entered, and vouches for its address: with
        `consent.assisted` they took the person's consent in person, and the offer records who did.
        Addresses that mix alphabets (look-alikes) or can only be reached inside one network
        (localhost, .local, .internal, an IP number, no dot) are refused with 422 naming ``email``.
        """
        s = services()
        return intake.register_volunteer(
            s.uow(), offer, s.clock, optional_coordinator(), confirm_emails=s.settings.confirm_emails
        )

    @coordinator
    @blp.arguments(VolunteerListArgs, location="query")
    @blp.response(200, VolunteerOut(many=True), headers=PAGE_HEADERS)
    @refused(blp, "You do not look after the area you asked for.")
    def get(self, args: dict[str, Any]) -> Any:
        """List volunteers in your areas (coordinators), by name."""
        page = queries.list_volunteers(
            services().uow(),
            current_coordinator(),
            area=args.get("area"),
            status=args.get("status"),
            page=args["page"],
            per_page=args["per_page"],
        )
        return paged(page)


@blp.route("/<volunteer_id>")
class OneVolunteer(MethodView):
    @coordinator
    @blp.response(200, VolunteerOut)
    def get(self, volunteer_id: str) -> Any:
        """One volunteer (coordinators of their areas)."""
        return queries.get_volunteer(services().uow(), volunteer_id, current_coordinator())

    @coordinator
    @blp.arguments(VolunteerPatch)
    @blp.response(200, VolunteerOut)
    @conflicts(
        blp, "The status cannot move that way (a withdrawal is final), or someone changed the offer at the same moment."
    )
    def patch(self, changes: dict[str, Any], volunteer_id: str) -> Any:
        """Change status (active, paused, withdrawn), availability or preferences."""
        s = services()
        return intake.update_volunteer(s.uow(), volunteer_id, changes, s.clock, coordinator=current_coordinator())


@blp.route("/<volunteer_id>/erase")
class Erase(MethodView):
    @coordinator
    @blp.response(200, ErasedOut)
    @blp.alt_response(404, description="No such volunteer in your areas.")
    @blp.alt_response(409, description="The volunteer's details were erased already.")
    def post(self, volunteer_id: str) -> Any:
        """Erase a volunteer who asked you to (by phone or letter): their details are anonymised,
        the programme's statistics kept, and the erasure goes in the audit log."""
        s = services()
        erased_at = on_request.erase_for(s.uow(), volunteer_id, current_coordinator(), s.clock, s.mailer, s.texts)
        return {"id": volunteer_id, "erased_at": erased_at}


@blp.route("/<volunteer_id>/export")
class Export(MethodView):
    @coordinator
    @blp.response(200, VolunteerExportOut)
    @blp.alt_response(404, description="No such volunteer in your areas.")
    @blp.alt_response(409, description="The volunteer's details were erased.")
    def get(self, volunteer_id: str) -> Any:
        """Everything held about a volunteer, for a subject access request made to you; on the audit log."""
        s = services()
        return on_request.export_for(s.uow(), volunteer_id, current_coordinator(), s.clock)
