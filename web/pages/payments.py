"""Involvement payments as pages: claims (approve, hold, record an activity or a journey),
rates, and the finance export. Amounts are typed in pounds and pence ("12.50") and kept
as integer pence; nothing here ever holds money in a float."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from matcher.domain import Coordinator
from matcher.errors import Invalid
from matcher.payments import ActivityType, HoldReason, LineStatus, Preference, RateBasis, month_of, pounds
from matcher.services import payments
from web.pages import forms
from web.pages.common import coordinator_required, no_store, page_blueprint, services, uow
from web.payment_schemas import AccountIn, ActivityIn, ExportIn, RateIn, TravelIn

bp = page_blueprint("payment_pages")
POUNDS = re.compile(r"^£?\s*(\d{1,6})(?:\.(\d{1,2}))?$")


@bp.after_request
def _private(response):  # type: ignore[no-untyped-def]
    return no_store(response)


def pence_of(text: str | None) -> Any:
    """ "12.5" -> 1250, "£3" -> 300; anything else is handed on as typed, for the schema to name."""
    text = (text or "").strip()
    found = POUNDS.match(text)
    if not found:
        return text or None
    whole, part = found.groups()
    return int(whole) * 100 + int((part or "0").ljust(2, "0"))


def _fields(form: Any, names: tuple[str, ...], money: tuple[str, ...] = ()) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in names:
        value = (form.get(name) or "").strip()
        if not value:
            continue
        if name in money:
            data[name] = pence_of(value)
        elif name == "minutes":
            data[name] = int(value) if value.isdigit() else value
        else:
            data[name] = value
    return data


WORDS = {
    "types": ActivityType.WORDS,
    "statuses": LineStatus.WORDS,
    "holds": HoldReason.WORDS,
    "preferences": Preference.WORDS,
    "bases": {RateBasis.HOUR: "per hour", RateBasis.SESSION: "per session"},
}


def _claims_page(coordinator: Coordinator, form: Any = None, errors: Any = None, travel_errors: Any = None) -> Any:
    s = services()
    status = request.args.get("status") or None
    if status not in LineStatus.ALL:
        status = None
    page = render_template(
        "coordinator/payments.html",
        c=coordinator,
        lines=payments.claims(uow(), coordinator, status),
        people=payments.names(uow(), coordinator),
        status=status,
        words=WORDS,
        pounds=pounds,
        form=form or {},
        errors=errors or {},
        travel_errors=travel_errors or {},
        today=s.clock.now().date(),
        second_over=s.settings.payment_second_approval_pence,
    )
    return page, 422 if (errors or travel_errors) else 200


@bp.get("/coordinator/payments")
@coordinator_required
def claims_page(coordinator: Coordinator) -> ResponseReturnValue:
    return _claims_page(coordinator)


@bp.post("/coordinator/payments/activities")
@coordinator_required
def record_activity(coordinator: Coordinator) -> ResponseReturnValue:
    s = services()
    fields, errors = forms.load(ActivityIn(), _fields(request.form, ("volunteer_id", "activity_type", "on", "minutes")))
    if fields is not None:
        try:
            _, line = payments.record_activity(s.uow(), fields, s.clock, coordinator)
        except Invalid as refused:
            errors = refused.errors
        else:
            if line is not None and line.status == LineStatus.HELD:
                over = f"{HoldReason.WORDS[line.hold_reason or '']} by £{pounds(line.over_by_pence or 0)}"
                flash(f"Recorded, and held: it is {over}.")
            else:
                flash("Recorded." if line is None else f"Recorded: a line of £{pounds(line.pence)} waits for approval.")
            return redirect(url_for("payment_pages.claims_page"), 303)
    return _claims_page(coordinator, form=request.form, errors=errors)


@bp.post("/coordinator/payments/travel")
@coordinator_required
def record_travel(coordinator: Coordinator) -> ResponseReturnValue:
    s = services()
    data = _fields(request.form, ("volunteer_id", "on", "pence", "description"), money=("pence",))
    data["receipt_held"] = request.form.get("receipt_held") == "yes"
    fields, errors = forms.load(TravelIn(), data)
    if fields is not None:
        try:
            payments.add_travel(s.uow(), fields, coordinator, s.clock)
        except Invalid as refused:
            errors = refused.errors
        else:
            flash("The travel expense is recorded and waits for approval.")
            return redirect(url_for("payment_pages.claims_page"), 303)
    return _claims_page(coordinator, form=request.form, travel_errors=errors)


@bp.post("/coordinator/payments/<line_id>/approve")
@coordinator_required
def approve(coordinator: Coordinator, line_id: str) -> ResponseReturnValue:
    s = services()
    try:
        line = payments.approve(s.uow(), line_id, coordinator, s.clock, s.settings.payment_second_approval_pence)
    except payments.OverCap as held:
        flash(held.message[:1].upper() + held.message[1:] + ".")
    else:
        flash(
            f"Approved: £{pounds(line.pence)}."
            if line.status == LineStatus.APPROVED
            else f"Approved once: £{pounds(line.pence)} needs a second coordinator's approval too."
        )
    return redirect(url_for("payment_pages.claims_page"), 303)


@bp.post("/coordinator/payments/<line_id>/hold")
@coordinator_required
def hold(coordinator: Coordinator, line_id: str) -> ResponseReturnValue:
    s = services()
    line = payments.hold(s.uow(), line_id, coordinator, s.clock)
    flash(f"Held: £{pounds(line.pence)}. Approve it when it is sorted out.")
    return redirect(url_for("payment_pages.claims_page"), 303)


CAPS = ("cap_week_pence", "cap_four_weeks_pence", "cap_tax_year_pence")


@bp.route("/coordinator/payments/volunteers/<volunteer_id>", methods=["GET", "POST"])
@coordinator_required
def account_page(coordinator: Coordinator, volunteer_id: str) -> ResponseReturnValue:
    """A coordinator changes a volunteer's preference and caps for them (by phone, say)."""
    s = services()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data: dict[str, Any] = {name: pence_of(request.form.get(name)) for name in CAPS}
        if preference := (request.form.get("preference") or "").strip():
            data["preference"] = preference
        fields, errors = forms.load(AccountIn(), data)
        if fields is not None:
            payments.set_account(s.uow(), volunteer_id, fields, s.clock, coordinator)
            flash("Their payment choices are saved.")
            return redirect(url_for("payment_pages.account_page", volunteer_id=volunteer_id), 303)
    name, account = payments.account_for(s.uow(), volunteer_id, coordinator)
    form: Any = request.form if errors else {
        "preference": [account.preference],
        **{n: "" if getattr(account, n) is None else pounds(getattr(account, n)) for n in CAPS},
    }  # fmt: skip
    page = render_template(
        "coordinator/payment_account.html", c=coordinator, name=name, volunteer_id=volunteer_id, words=WORDS,
        form=form, errors=errors,
    )  # fmt: skip
    return page, 422 if errors else 200


@bp.route("/coordinator/payments/rates", methods=["GET", "POST"])
@coordinator_required
def rates_page(coordinator: Coordinator) -> ResponseReturnValue:
    s = services()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = _fields(request.form, ("activity_type", "pence", "basis", "effective_from"), money=("pence",))
        fields, errors = forms.load(RateIn(), data)
        if fields is not None:
            try:
                payments.set_rate(s.uow(), fields, coordinator, s.clock)
            except Invalid as refused:
                errors = refused.errors
            else:
                flash("The rate is set. Lines already made keep the rate they were made with.")
                return redirect(url_for("payment_pages.rates_page"), 303)
    page = render_template(
        "coordinator/payment_rates.html", c=coordinator, rates=payments.rates(s.uow()), words=WORDS,
        pounds=pounds, form=request.form, errors=errors,
    )  # fmt: skip
    return page, 422 if errors else 200


@bp.route("/coordinator/payments/exports", methods=["GET", "POST"])
@coordinator_required
def exports_page(coordinator: Coordinator) -> ResponseReturnValue:
    s = services()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        fields, errors = forms.load(ExportIn(), _fields(request.form, ("month",)))
        if fields is not None:
            try:
                export, new = payments.export_month(s.uow(), fields["month"], coordinator, s.clock)
            except Invalid as refused:
                errors = refused.errors
            else:
                flash(
                    f"Exported {export.line_count} lines, £{pounds(export.total_pence)}."
                    if new
                    else "Nothing new since the last export of that month: here it is again, unchanged."
                )
                return redirect(url_for("payment_pages.exports_page") + f"#export-{export.id}", 303)
    page = render_template(
        "coordinator/payment_exports.html", c=coordinator, exports=payments.exports(s.uow(), coordinator),
        pounds=pounds, form=request.form, errors=errors, this_month=month_of(s.clock.now().date()),
    )  # fmt: skip
    return page, 422 if errors else 200


@bp.get("/coordinator/payments/exports/<export_id>.csv")
@coordinator_required
def export_csv(coordinator: Coordinator, export_id: str) -> ResponseReturnValue:
    s = services()
    export, body = payments.export_file(s.uow(), export_id, coordinator, s.clock)
    return Response(
        body, mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="qimatch-payments-{export.month}-{export.id}.csv"'},
    )  # fmt: skip
