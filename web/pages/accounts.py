"""Coordinators' account pages: one's own account (password, API tokens, sign out everywhere),
admins' coordinators (invite, deactivate), and the emailed links' pages (reset, set a password).

The same use cases as the API's account endpoints (``matcher.services.accounts``).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from matcher.domain import Coordinator
from matcher.errors import Invalid
from matcher.services import accounts
from web.api.accounts import RESET_ANSWER, coordinator_out
from web.limits import link_tries, reset_requests
from web.pages.common import (
    SESSION_KEY,
    coordinator_required,
    end_session,
    labels,
    no_store,
    page_blueprint,
    services,
    uow,
)

bp = page_blueprint("accounts", "/coordinator")


@bp.after_request
def _private(response):  # type: ignore[no-untyped-def]
    return no_store(response)


# --- One's own account ---------------------------------------------------------------------------


def _account_page(coordinator: Coordinator, errors: dict[str, list[str]] | None = None) -> ResponseReturnValue:
    s = services()
    tokens = accounts.api_tokens(uow(), coordinator, s.clock)
    page = render_template(
        "coordinator/account.html", c=coordinator, tokens=tokens, errors=errors or {}, totp=s.settings.require_totp
    )
    return (page, 422) if errors else page


@bp.get("/account")
@coordinator_required
def account(coordinator: Coordinator) -> ResponseReturnValue:
    return _account_page(coordinator)


@bp.post("/account/password")
@coordinator_required
def change_password(coordinator: Coordinator) -> ResponseReturnValue:
    current = request.form.get("current_password") or ""
    new = request.form.get("password") or ""
    errors: dict[str, list[str]] = {}
    if new != (request.form.get("password_again") or ""):
        errors["password_again"] = ["The two new passwords are not the same."]
    if not errors:
        try:
            accounts.change_password(uow(), coordinator, current, new, services().clock, session.get(SESSION_KEY))
        except Invalid as e:
            errors = e.errors
    if errors:
        return _account_page(coordinator, errors)
    flash("Your password is changed. Your sessions on other devices have ended.")
    return redirect(url_for("accounts.account"), 303)


@bp.post("/account/tokens/<token_id>/revoke")
@coordinator_required
def revoke_token(coordinator: Coordinator, token_id: str) -> ResponseReturnValue:
    accounts.revoke_api_token(uow(), coordinator, token_id, services().clock)
    flash("The token is revoked: it no longer works.")
    return redirect(url_for("accounts.account"), 303)


@bp.post("/account/sign-out-everywhere")
@coordinator_required
def sign_out_everywhere(coordinator: Coordinator) -> ResponseReturnValue:
    accounts.sign_out_everywhere(uow(), coordinator, services().clock)
    end_session()
    flash("You are signed out everywhere: every session and API token of your account has ended.")
    return redirect(url_for("coordinator.sign_in"), 303)


# --- Admins: coordinators ------------------------------------------------------------------------


def _coordinators_page(
    coordinator: Coordinator, form: dict[str, object] | None = None, errors: dict[str, list[str]] | None = None
) -> ResponseReturnValue:
    everyone = [coordinator_out(c) for c in accounts.coordinators(uow(), coordinator)]
    page = render_template(
        "coordinator/coordinators.html",
        c=coordinator,
        everyone=everyone,
        areas=sorted(labels("areas").items(), key=lambda kv: kv[1]),
        form=form or {},
        errors=errors or {},
    )
    return (page, 422) if errors else page


@bp.get("/coordinators")
@coordinator_required
def coordinators_page(coordinator: Coordinator) -> ResponseReturnValue:
    return _coordinators_page(coordinator)


@bp.post("/coordinators")
@coordinator_required
def invite(coordinator: Coordinator) -> ResponseReturnValue:
    email = (request.form.get("email") or "").strip()
    areas = request.form.getlist("areas")
    name = (request.form.get("name") or "").strip()
    admin = request.form.get("admin") == "yes"
    try:
        made = accounts.invite(uow(), coordinator, email, areas, services().clock, name=name or None, admin=admin)
    except Invalid as e:
        errors = {("areas" if k == "area" else k): v for k, v in e.errors.items()}
        form = {"email": email, "areas": areas, "name": name, "admin": admin}
        return _coordinators_page(coordinator, form, errors)
    flash(f"Invitation on its way to {made.email}. The link works once, for 7 days.")
    return redirect(url_for("accounts.coordinators_page"), 303)


@bp.post("/coordinators/<coordinator_id>/deactivate")
@coordinator_required
def deactivate(coordinator: Coordinator, coordinator_id: str) -> ResponseReturnValue:
    gone = accounts.deactivate(uow(), coordinator, coordinator_id, services().clock)
    flash(f"{gone.email} is deactivated: it can no longer sign in, and its sessions and tokens have ended.")
    return redirect(url_for("accounts.coordinators_page"), 303)


# --- The emailed links ---------------------------------------------------------------------------


@bp.route("/reset", methods=["GET", "POST"])
@reset_requests
def reset() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("coordinator/reset.html", form={}, errors={}, sent=False)
    email = (request.form.get("email") or "").strip()
    if not email or "@" not in email or len(email) > 320:
        errors = {"email": ["Enter the email address of your coordinator account."]}
        return render_template("coordinator/reset.html", form={"email": email}, errors=errors, sent=False), 422
    accounts.ask_for_reset(uow(), email, services().clock)
    # The same answer whether or not the address has an account.
    return render_template("coordinator/reset.html", form={}, errors={}, sent=True, message=RESET_ANSWER)


@bp.route("/password/<secret>", methods=["GET", "POST"])
@link_tries
def set_password(secret: str) -> ResponseReturnValue:
    s = services()
    holder = accounts.link_holder(uow(), secret, s.clock)
    if holder is None:
        return render_template("coordinator/link_dead.html"), 404
    totp = s.settings.require_totp and holder.totp_uri is not None
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        password = request.form.get("password") or ""
        if password != (request.form.get("password_again") or ""):
            errors["password_again"] = ["The two passwords are not the same."]
        else:
            try:
                done = accounts.set_password_by_link(
                    uow(), secret, password, request.form.get("otp") or "", s.clock, s.settings.require_totp
                )
            except Invalid as e:
                errors = e.errors
            else:
                if done is None:
                    return render_template("coordinator/link_dead.html"), 404
                coordinator, codes = done
                end_session()
                if codes:
                    return render_template("coordinator/welcome.html", c=coordinator, codes=codes, totp=totp)
                flash("Your new password is set, and every earlier sign-in has ended. Please sign in.")
                return redirect(url_for("coordinator.sign_in"), 303)
    page = render_template(
        "coordinator/set_password.html",
        holder=holder,
        invite=holder.purpose == "coordinator_invite",
        totp=totp,
        secret_key=holder.coordinator.totp_secret if totp else None,
        errors=errors,
        action=request.path,
    )
    return (page, 422) if errors else page
