"""A volunteer's own page, reached through their private link."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from matcher.domain import EventKind
from matcher.errors import Invalid
from matcher.payments import ActivityType, HoldReason, LineStatus, Preference, pounds, tax_year_label
from matcher.programme_sessions import SessionKind
from matcher.services import intake, payments, sessions, volunteer_self
from web.pages import forms
from web.pages.common import end_session, no_store, page_blueprint, services, uow, volunteer_required
from web.schemas import VolunteerPatch

bp = page_blueprint("volunteer", "/me")


@bp.after_request
def _private(response):  # type: ignore[no-untyped-def]
    response.headers["Referrer-Policy"] = "no-referrer"
    return no_store(response)


def _page(
    volunteer_id: str, form=None, errors=None, status: int = 200, pause_errors=None, pay_form=None, pay_errors=None
) -> ResponseReturnValue:  # type: ignore[no-untyped-def]
    s = services()
    today = s.clock.now().date()
    statement = payments.statement(uow(), volunteer_id, today)
    view = volunteer_self.overview(uow(), volunteer_id, s.clock)
    return (
        render_template(
            "volunteer/me.html",
            view=view,
            v=view.volunteer,
            session_offers=volunteer_self.session_offers(uow(), volunteer_id, s.clock),
            session_words=SessionKind.WORDS,
            form=form if form is not None else forms.volunteer_form_values(view.volunteer),
            errors=errors or {},
            pause_errors=pause_errors or {},
            today=today,
            statement=statement,
            pay={
                "statuses": LineStatus.WORDS,
                "holds": HoldReason.WORDS,
                "preferences": Preference.WORDS,
                "types": ActivityType.WORDS,
                "tax_year": tax_year_label(today),
            },
            pounds=pounds,
            pay_form=pay_form if pay_form is not None else _pay_form(statement["account"]),
            pay_errors=pay_errors or {},
        ),
        status,
    )


@bp.get("")
@volunteer_required
def me(volunteer_id: str) -> ResponseReturnValue:
    return _page(volunteer_id)


def _pay_form(account) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    form: dict[str, Any] = {"preference": [account.preference]}  # a list: the radios test membership
    for name in ("cap_week_pence", "cap_four_weeks_pence", "cap_tax_year_pence"):
        value = getattr(account, name)
        form[name] = "" if value is None else pounds(value)
    return form


@bp.post("/payments")
@volunteer_required
def update_payments(volunteer_id: str) -> ResponseReturnValue:
    """The person's own preference and caps (in pounds here; a cap left empty is no cap)."""
    from web.pages.payments import pence_of
    from web.payment_schemas import AccountIn

    s = services()
    data: dict[str, object] = {"preference": (request.form.get("preference") or "").strip() or None}
    for name in ("cap_week_pence", "cap_four_weeks_pence", "cap_tax_year_pence"):
        data[name] = pence_of(request.form.get(name))
    fields, errors = forms.load(AccountIn(), {k: v for k, v in data.items() if k.startswith("cap_") or v})
    if fields is None:
        return _page(volunteer_id, pay_form=request.form, pay_errors=errors, status=422)
    payments.set_account(s.uow(), volunteer_id, fields, s.clock)
    flash("Your payment choices are saved.")
    return redirect(url_for("volunteer.me") + "#payments", 303)


@bp.post("/offer")
@volunteer_required
def update_offer(volunteer_id: str) -> ResponseReturnValue:
    s = services()
    data = forms.offer_fields(request.form, registering=False)
    changes, errors = forms.load(VolunteerPatch(), data)
    if changes is None:
        return _page(volunteer_id, form=request.form, errors=errors, status=422)
    intake.update_volunteer(s.uow(), volunteer_id, changes, s.clock)
    flash("Your changes are saved.")
    return redirect(url_for("volunteer.me") + "#offer", 303)


@bp.post("/sessions/<session_id>/book")
@volunteer_required
def book_session(volunteer_id: str, session_id: str) -> ResponseReturnValue:
    s = services()
    booking = sessions.book(s.uow(), session_id, volunteer_id, s.clock, s.settings.matching)
    if booking.status == "booked":
        flash("Your place is booked. We are emailing you a calendar invitation.")
    else:
        flash("The session is full, so you are on its waiting list. If a place comes up, you move up by yourself.")
    return redirect(url_for("volunteer.me") + "#sessions", 303)


@bp.post("/sessions/<session_id>/cancel")
@volunteer_required
def cancel_session(volunteer_id: str, session_id: str) -> ResponseReturnValue:
    s = services()
    sessions.cancel_booking(s.uow(), session_id, volunteer_id, s.clock, s.settings.matching)
    flash("Cancelled. Thank you for letting us know: your place goes to the next person waiting.")
    return redirect(url_for("volunteer.me") + "#sessions", 303)


@bp.post("/pause")
@volunteer_required
def pause(volunteer_id: str) -> ResponseReturnValue:
    s = services()
    raw = (request.form.get("until") or "").strip()
    try:
        until = date.fromisoformat(raw)
        volunteer_self.pause_until(s.uow(), volunteer_id, until, s.clock)
    except ValueError:
        return _page(volunteer_id, pause_errors={"until": [forms.PLAIN["until"]]}, status=422)
    except Invalid as exc:
        return _page(volunteer_id, pause_errors=exc.errors, status=422)
    flash(f"You are paused until {until.strftime('%-d %B %Y')}. Nobody will be suggested to you before then.")
    return redirect(url_for("volunteer.me"), 303)


@bp.post("/resume")
@volunteer_required
def resume(volunteer_id: str) -> ResponseReturnValue:
    s = services()
    volunteer_self.resume(s.uow(), volunteer_id, s.clock)
    flash("Welcome back: you can be suggested to teams again.")
    return redirect(url_for("volunteer.me"), 303)


@bp.post("/withdraw")
@volunteer_required
def withdraw(volunteer_id: str) -> ResponseReturnValue:
    s = services()
    if request.form.get("confirm") != "yes":
        return _page(
            volunteer_id, pause_errors={"confirm": ["Tick the box to confirm that you want to stop."]}, status=422
        )
    volunteer_self.withdraw(s.uow(), volunteer_id, s.clock)
    flash("You have stopped. Thank you for everything you offered.")
    return redirect(url_for("volunteer.me"), 303)


@bp.get("/data.json")
@volunteer_required
def download(volunteer_id: str) -> ResponseReturnValue:
    s = services()
    data = volunteer_self.export(uow(), volunteer_id, s.clock)
    response = current_app.response_class(json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="my-involvement-data.json"'
    return response


@bp.post("/erase")
@volunteer_required
def erase(volunteer_id: str) -> ResponseReturnValue:
    s = services()
    if request.form.get("confirm_erase") != "yes":
        return _page(volunteer_id, pause_errors={"confirm_erase": ["Tick the box to confirm the erasure."]}, status=422)
    volunteer_self.erase(uow(), volunteer_id, s.clock, s.mailer, texter=s.texts)
    end_session()
    return redirect(url_for(EventKind.VOLUNTEER_ERASED), 303)


@bp.get("/erased")
def erased() -> ResponseReturnValue:
    return render_template("volunteer/erased.html")


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    end_session()
    return redirect(url_for("public.home"), 303)
