"""The audit log: who did what, for coordinators to read and filter."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.services import queries
from web.api.access import coordinator
from web.auth import current_coordinator
from web.context import services
from web.paging import paged
from web.schemas import AuditEntryOut, AuditListArgs

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The audit log of coordinators' actions")


@blp.route("")
class AuditLog(MethodView):
    @coordinator
    @blp.arguments(AuditListArgs, location="query")
    @blp.response(200, AuditEntryOut(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Coordinators' actions and sign-ins, newest first: your own, and those about your
        areas' requests, matches and volunteers (an admin sees all)."""
        return paged(
            queries.audit_log(
                services().uow(),
                current_coordinator(),
                by=args.get("coordinator"),
                action=args.get("action"),
                subject_kind=args.get("subject_kind"),
                subject_id=args.get("subject_id"),
                from_day=args.get("from_"),
                to_day=args.get("to"),
                page=args["page"],
                per_page=args["per_page"],
            )
        )
