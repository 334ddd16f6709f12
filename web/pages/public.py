"""Pages anyone may open: home, FAQ, the sign-up and request forms, private links."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from matcher.domain import TokenPurpose
from matcher.errors import Invalid
from matcher.payments import ActivityType
from matcher.services import intake, links, payments, queries
from web.limits import limiter, submission_limit
from web.pages import faq as faq_text
from web.pages import forms, texts
from web.pages.common import begin_session, current_coordinator, no_store, page_blueprint, services, uow
from web.payment_schemas import TeamAttendanceIn
from web.schemas import TeamRequestIn, VolunteerIn

log = logging.getLogger(__name__)
bp = page_blueprint("public")


@bp.get("/")
def home() -> ResponseReturnValue:
    intro, _ = faq_text.render(texts.source("home.intro"))
    more, _ = faq_text.render(texts.source("home.more"))
    return render_template("public/home.html", intro=intro, more=more)


@bp.get("/faq")
def faq() -> ResponseReturnValue:
    body, headings = faq_text.render(texts.source("faq"))
    return render_template("public/faq.html", body=body, toc=headings)


# --- Volunteers sign up -----------------------------------------------------------------------


@bp.route("/volunteer/sign-up", methods=["GET", "POST"])
@limiter.limit(submission_limit, methods=["POST"])
def volunteer_sign_up() -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        offer, errors = forms.load(VolunteerIn(), forms.offer_fields(request.form, registering=True))
        if offer is not None:
            s = services()
            # A coordinator signed in on this browser (a stall's tablet) vouches for the address.
            coordinator = current_coordinator()
            sent = True
            try:
                intake.register_volunteer(
                    s.uow(),
                    offer,
                    s.clock,
                    confirm_emails=s.settings.confirm_emails,
                    entered_by=coordinator,
                    send_link=True,
                )
            except intake.AlreadyRegistered:
                # The address has an offer: its owner gets their private link to change it (within
                # the address's hourly allowance), and the page answers as for a new offer, so it
                # does not tell whether the address is known.
                sent = _owe_links(offer["email"], offer_only=True)
            confirm = s.settings.confirm_emails and coordinator is None
            thanks = url_for(
                "public.volunteer_thanks", sent="yes" if sent else "no", confirm="yes" if confirm else None
            )
            return redirect(thanks, 303)
    response = current_app.make_response(
        (render_template("public/volunteer_sign_up.html", form=request.form, errors=errors), 422 if errors else 200)
    )
    return no_store(response) if errors else response


@bp.get("/volunteer/thanks")
def volunteer_thanks() -> ResponseReturnValue:
    return render_template(
        "public/volunteer_thanks.html",
        sent=request.args.get("sent") != "no",
        confirm=request.args.get("confirm") == "yes",
    )


def _owe_link(purpose: str, subject_id: str) -> bool:
    # The request only records that the link is owed; a worker issues and sends it.
    # If even that fails the request is kept, and the page says how to ask for the link again.
    try:
        links.owe_private_link(uow(), purpose, subject_id, services().clock)
        return True
    except Exception:  # noqa: BLE001
        log.warning("private link email not recorded (purpose %s)", purpose, exc_info=True)
        return False


def _owe_links(address: str, offer_only: bool = False) -> bool:
    """Links for what ``address`` holds, within its hourly allowance; False if not even recorded."""
    try:
        links.owe_links_for(uow(), address, services().clock, offer_only=offer_only)
        return True
    except Exception:  # noqa: BLE001
        log.warning("private link email not recorded", exc_info=True)
        return False


# --- Teams ask for involvement ----------------------------------------------------------------


def _role_codes() -> list[str]:
    from web.pages.common import labels

    return list(labels("roles"))


@bp.route("/team/request", methods=["GET", "POST"])
@limiter.limit(submission_limit, methods=["POST"])
def team_request() -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = forms.request_fields(request.form, _role_codes())
        asked = [r["role"] for r in data["roles"]]
        request_in, errors = forms.load(TeamRequestIn(), data, forms.TEAM_WORDS)
        if request_in is not None:
            s = services()
            stored = intake.submit_request(s.uow(), request_in, s.clock)
            sent = _owe_link(TokenPurpose.REQUEST_STATUS, stored.id)
            return redirect(url_for("public.team_thanks", sent="yes" if sent else "no"), 303)
        # "roles.1.count" names a row of the list built above; the form names it by its role.
        for key in [k for k in errors if k.startswith("roles.") and k.count(".") == 2]:
            index = int(key.split(".")[1])
            errors[f"roles.{asked[index]}"] = errors.pop(key)
    response = current_app.make_response(
        (render_template("public/team_request.html", form=request.form, errors=errors), 422 if errors else 200)
    )
    return no_store(response) if errors else response


@bp.get("/team/thanks")
def team_thanks() -> ResponseReturnValue:
    return render_template("public/team_thanks.html", sent=request.args.get("sent") != "no")


@bp.get("/team/status/<secret>")
def team_status(secret: str, form=None, errors=None, code: int = 200) -> ResponseReturnValue:  # type: ignore[no-untyped-def]
    s = services()
    token = links.peek(uow(), secret, TokenPurpose.REQUEST_STATUS, s.clock)
    if token is None:
        return no_store(current_app.make_response((render_template("public/link_dead.html", team=True), 404)))
    status = queries.team_status(uow(), token.subject_id)
    response = current_app.make_response(
        (
            render_template(
                "public/team_status.html",
                r=status.request,
                places=status.places,
                people=status.people,
                suggested=status.has_suggestions,
                activity_types=list(ActivityType.WORDS.items()),
                form=form or {},
                errors=errors or {},
                secret=secret,
            ),
            code,
        )
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return no_store(response)


@bp.post("/team/status/<secret>/attendance")
@limiter.limit(submission_limit)
def team_attendance(secret: str) -> ResponseReturnValue:
    """The team confirms that someone introduced to it took part (an activity for their payment)."""
    s = services()
    token = links.peek(uow(), secret, TokenPurpose.REQUEST_STATUS, s.clock)
    if token is None:
        return no_store(current_app.make_response((render_template("public/link_dead.html", team=True), 404)))
    data = {k: (request.form.get(k) or "").strip() for k in ("match_id", "activity_type", "on", "minutes")}
    typed: dict[str, object] = {k: (int(v) if k == "minutes" and v.isdigit() else v) for k, v in data.items() if v}
    fields, errors = forms.load(TeamAttendanceIn(), typed)
    if fields is not None:
        try:
            payments.confirm_by_team(s.uow(), token.subject_id, fields, s.clock)
        except Invalid as refused:
            errors = refused.errors
        else:
            flash("Thank you: their coordinator will see it.")
            return no_store(redirect(url_for("public.team_status", secret=secret) + "#attendance", 303))
    return team_status(secret, form=request.form, errors=errors, code=422)


# --- Private links ----------------------------------------------------------------------------


@bp.route("/link", methods=["GET", "POST"])
@limiter.limit(submission_limit, methods=["POST"])
def new_link() -> ResponseReturnValue:
    if request.method == "POST":
        address = (request.form.get("email") or "").strip()
        if "@" not in address or len(address) > 320:
            page = render_template("public/new_link.html", form=request.form, errors={"email": [forms.PLAIN["email"]]})
            return no_store(current_app.make_response((page, 422)))
        s = services()
        response = redirect(url_for("public.link_sent"), 303)

        # The same answer, at the same speed, whether or not the address is known, and whether
        # or not its hourly allowance of link emails is spent: the lookup and the owed emails
        # are recorded after the response has gone.
        def owe_later() -> None:
            _owe_links_quietly(s, address)

        response.call_on_close(owe_later)
        return response
    return render_template("public/new_link.html", form={}, errors={}, expired=request.args.get("expired"))


def _owe_links_quietly(s: Any, address: str) -> None:
    try:
        links.owe_links_for(s.uow(), address, s.clock)
    except Exception:  # noqa: BLE001
        log.warning("new private link not recorded", exc_info=True)


@bp.get("/link/sent")
def link_sent() -> ResponseReturnValue:
    return render_template("public/link_sent.html")


@bp.route("/v/<secret>", methods=["GET", "POST"])
def volunteer_link(secret: str) -> ResponseReturnValue:
    s = services()
    token = links.peek(uow(), secret, TokenPurpose.VOLUNTEER_LINK, s.clock)
    # Opening the link is what confirms an unconfirmed offer's address: the page says so.
    confirming = token is not None and queries.awaiting_confirmation(uow(), token.subject_id)
    if request.method == "GET":
        # Looking does not use the link up (nor confirms anything): mail scanners fetch links too.
        page = render_template(
            "public/volunteer_link.html", live=token is not None, secret=secret, confirming=confirming
        )
        response = current_app.make_response((page, 200 if token is not None else 404))
        response.headers["Referrer-Policy"] = "no-referrer"
        return no_store(response)
    return _redeem(secret)


@bp.post("/v")
def volunteer_link_redeem() -> ResponseReturnValue:
    """The link page's button: the secret comes in the form's body, so the POST's address
    (what a proxy logs) does not carry it a second time."""
    return _redeem(request.form.get("secret") or "")


def _redeem(secret: str) -> ResponseReturnValue:
    s = services()
    token = links.peek(uow(), secret, TokenPurpose.VOLUNTEER_LINK, s.clock) if secret else None
    confirming = token is not None and queries.awaiting_confirmation(uow(), token.subject_id)
    redeemed = links.redeem_link(uow(), secret, s.clock)
    if redeemed is None:
        page = render_template("public/volunteer_link.html", live=False, secret=secret, confirming=False)
        return no_store(current_app.make_response((page, 404)))
    volunteer_id, session_secret = redeemed
    begin_session(TokenPurpose.VOLUNTEER_SESSION, volunteer_id, session_secret)
    if confirming:
        flash("Thank you: your email address is confirmed. We may now suggest you to QI teams.")
    return redirect(url_for("volunteer.me"), 303)
