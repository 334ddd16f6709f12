"""Involvement payments: activities, rates, claims (approve, hold), finance exports, and a
volunteer's payment preference and caps. Money in integer pence."""

from __future__ import annotations

from typing import Any

from flask import Response, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.payments import FinanceExport
from matcher.services import payments
from web.api.access import coordinator
from web.auth import current_coordinator
from web.context import services
from web.payment_schemas import (
    AccountIn,
    AccountOut,
    ActivityArgs,
    ActivityIn,
    ActivityOut,
    ClaimArgs,
    ExportIn,
    ExportOut,
    LineOut,
    RateIn,
    RateOut,
    RecordedOut,
    TravelIn,
)

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="Involvement payments (integer pence)")


@blp.route("/volunteers/<volunteer_id>/payment-account")
class Account(MethodView):
    @coordinator
    @blp.response(200, AccountOut)
    def get(self, volunteer_id: str) -> Any:
        """A volunteer's payment preference and caps (defaults: paid, no caps)."""
        s = services()
        coordinator = current_coordinator()
        with s.uow() as uow:
            payments._volunteer(uow, volunteer_id, coordinator)
            return payments.account_of(uow, volunteer_id)

    @coordinator
    @blp.arguments(AccountIn)
    @blp.response(200, AccountOut)
    def patch(self, fields: dict[str, Any], volunteer_id: str) -> Any:
        """Change the preference or caps for the volunteer (a cap given as null is removed)."""
        s = services()
        return payments.set_account(s.uow(), volunteer_id, fields, s.clock, current_coordinator())


@blp.route("/rates")
class Rates(MethodView):
    @coordinator
    @blp.response(200, RateOut(many=True))
    def get(self) -> Any:
        """Every rate, by the date it takes effect."""
        current_coordinator()
        return payments.rates(services().uow())

    @coordinator
    @blp.arguments(RateIn)
    @blp.response(201, RateOut)
    def post(self, fields: dict[str, Any]) -> Any:
        """A rate for an activity type from a date on; lines already made keep theirs."""
        s = services()
        return payments.set_rate(s.uow(), fields, current_coordinator(), s.clock)


@blp.route("/activities")
class Activities(MethodView):
    @coordinator
    @blp.arguments(ActivityArgs, location="query")
    @blp.response(200, ActivityOut(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Activities of your areas' volunteers, by date."""
        return payments.activities(services().uow(), current_coordinator(), args.get("volunteer_id"))

    @coordinator
    @blp.arguments(ActivityIn)
    @blp.response(201, RecordedOut)
    def post(self, fields: dict[str, Any]) -> Any:
        """Record that a volunteer took part; its payable line comes back (held when over a cap)."""
        s = services()
        activity, line = payments.record_activity(s.uow(), fields, s.clock, current_coordinator())
        return {"activity": activity, "line": line}


@blp.route("/claims")
class Claims(MethodView):
    @coordinator
    @blp.arguments(ClaimArgs, location="query")
    @blp.response(200, LineOut(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Payable lines of your areas' volunteers, by date; narrow by status or volunteer."""
        return payments.claims(services().uow(), current_coordinator(), args.get("status"), args.get("volunteer_id"))


@blp.route("/claims/travel")
class Travel(MethodView):
    @coordinator
    @blp.arguments(TravelIn)
    @blp.response(201, LineOut)
    def post(self, fields: dict[str, Any]) -> Any:
        """A travel expense: its own line (amount, description, whether a receipt is held)."""
        s = services()
        return payments.add_travel(s.uow(), fields, current_coordinator(), s.clock)


@blp.route("/claims/<line_id>/approve")
class Approve(MethodView):
    @coordinator
    @blp.response(200, LineOut)
    @blp.alt_response(409, description="Over a cap (the line is held, the message says by how much), "
                      "or a second coordinator's approval is needed.")  # fmt: skip
    def post(self, line_id: str) -> Any:
        """Approve a line. Over QIMATCH_PAYMENT_SECOND_APPROVAL_PENCE a second coordinator approves too."""
        s = services()
        return payments.approve(
            s.uow(), line_id, current_coordinator(), s.clock, s.settings.payment_second_approval_pence
        )


@blp.route("/claims/<line_id>/hold")
class Hold(MethodView):
    @coordinator
    @blp.response(200, LineOut)
    def post(self, line_id: str) -> Any:
        """Hold a line back; approving it later releases it."""
        s = services()
        return payments.hold(s.uow(), line_id, current_coordinator(), s.clock)


def _export_out(export: FinanceExport, line_ids: list[str]) -> dict[str, Any]:
    return {
        **{name: getattr(export, name) for name in ("id", "month", "areas", "made_by", "made_at", "line_count",
                                                     "total_pence")},
        "line_ids": line_ids,
        "csv_url": url_for("payments.ExportCsv", export_id=export.id),
    }  # fmt: skip


@blp.route("/finance-exports")
class Exports(MethodView):
    @coordinator
    @blp.response(200, ExportOut(many=True))
    def get(self) -> Any:
        """Every export of your areas, newest first: who made it, when, which lines it holds."""
        s = services()
        coordinator = current_coordinator()
        return [
            _export_out(*payments.export_lines(s.uow(), e.id, coordinator))
            for e in payments.exports(s.uow(), coordinator)
        ]

    @coordinator
    @blp.arguments(ExportIn)
    @blp.response(201, ExportOut)
    @blp.alt_response(200, schema=ExportOut, description="Nothing new since the last export of the month: that one.")
    def post(self, fields: dict[str, Any]) -> Any:
        """Export a month's approved lines not exported yet (201); with none new, the month's last export (200)."""
        s = services()
        coordinator = current_coordinator()
        export, new = payments.export_month(s.uow(), fields["month"], coordinator, s.clock)
        return _export_out(*payments.export_lines(s.uow(), export.id, coordinator)), 201 if new else 200


@blp.route("/finance-exports/<export_id>")
class OneExport(MethodView):
    @coordinator
    @blp.response(200, ExportOut)
    def get(self, export_id: str) -> Any:
        return _export_out(*payments.export_lines(services().uow(), export_id, current_coordinator()))


@blp.route("/finance-exports/<export_id>/csv")
class ExportCsv(MethodView):
    @blp.response(
        200, {"type": "string", "format": "binary"}, content_type="text/csv",
        description="The CSV (docs/payments.md: columns, a totals row), the same bytes every time.",
    )  # fmt: skip
    @coordinator
    def get(self, export_id: str) -> Any:
        s = services()
        export, body = payments.export_file(s.uow(), export_id, current_coordinator(), s.clock)
        return Response(
            body, mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="qimatch-payments-{export.month}-{export.id}.csv"'},
        )  # fmt: skip
