"""A volunteer, a team and a coordinator use the pages in Chromium.

The volunteer signs up by form and confirms her email address through the link
the SMTP server received (as deployed: QIMATCH_CONFIRM_EMAILS on); the team
submits a request by form; a coordinator signs in, sees the suggestion with its
reasons (and who is left out unconfirmed) and approves it; the SMTP server
receives both introductions; the volunteer asks for a new private link and
pauses; someone inactive for two years keeps their details through the
retention email's link. Every page is photographed and checked with axe-core: no
serious or critical accessibility violations.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from matcher.bootstrap import Services
from matcher.services import coordinators, feedback, outgoing, retention
from tests import factories
from tests.e2e.navigation import follow_nav
from tests.integration.conftest import Processes, eventually
from tests.real_parts import SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


class Pages:
    """Screenshots and the axe check for each page, in the order they were seen."""

    def __init__(self, folder: Path, axe: str, base: str) -> None:
        self.folder, self.axe, self.base = folder, axe, base
        self.seen: list[str] = []
        self.problems: list[str] = []
        self.minor: list[str] = []  # every violation, for the printout

    def check(self, page: Any, name: str) -> None:
        page.wait_for_load_state("load")
        self.seen.append(name)
        page.screenshot(path=str(self.folder / f"{len(self.seen):02d}-{name}.png"), full_page=True)
        # evaluate() runs in the page without a <script> element, so the strict CSP stays on.
        page.evaluate(self.axe)
        result = page.evaluate(
            "async tags => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
        )
        for v in result["violations"]:
            self.minor.append(f"{name}: {v['id']} ({v['impact']})")
            if v["impact"] in ("serious", "critical"):
                targets = [n["target"] for n in v["nodes"]][:3]
                self.problems.append(f"{name}: {v['id']} ({v['impact']}) {v['help']} at {targets}")


def mail_link(smtp: SmtpSink, address: str, path: str, base: str) -> str:
    mails = eventually(lambda: smtp.to(address), seconds=20)
    text = mails[-1].part("text/plain").decode()
    found = re.search(r"http://qimatch\.test(" + re.escape(path) + r"[A-Za-z0-9_\-]+)", text)
    assert found, text
    return base + found.group(1)


def post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def test_volunteer_team_and_coordinator_in_the_browser(
    browser: Any,
    live_server: str,
    services: Services,
    processes: Processes,
    smtp: SmtpSink,
    screenshots: Path,
    axe_source: str,
) -> None:
    processes.worker()
    base = live_server
    pages = Pages(screenshots, axe_source, base)
    coordinators.create_coordinator(
        services.uow(), "lead@nhs.example", "correct horse battery", ["tower_hamlets", "luton"], services.clock
    )
    # Someone the request cannot use, so the coordinator sees why they were left out.
    post_json(f"{base}/api/v1/volunteers", factories.offer(name="Chris Far", home_area="luton", modes=["in_person"]))

    phone = browser.new_context(viewport=PHONE)
    page = phone.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)

    # --- The public pages and the volunteer's sign-up -----------------------------------------
    page.goto(base + "/")
    pages.check(page, "home")
    page.get_by_role("link", name="Questions", exact=True).first.click()
    pages.check(page, "faq")
    page.goto(base + "/volunteer/sign-up")
    pages.check(page, "volunteer-sign-up")
    page.fill("#f-name", "Amina Begum")
    page.fill("#f-email", "amina@example.org")
    page.get_by_role("button", name="Send my offer").click()
    assert page.locator("#error-summary").is_visible()
    # The problem is announced: nhsuk-frontend's error summary takes the focus once its module has run
    # (deferred, so a moment after the page shows); a summary that never takes it fails here.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'error-summary'", timeout=5000)
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.input_value("#f-name") == "Amina Begum"  # what was typed stays
    assert page.locator("#f-roles-error").is_visible()
    pages.check(page, "volunteer-sign-up-errors")
    page.check("#f-kind-carer")
    page.select_option("#f-home_area", "tower_hamlets")
    page.check("#f-roles-focus_group")
    page.check("#f-roles-reviewer")
    page.check("#f-modes-in_person")
    page.check("#f-modes-video")
    page.select_option("#f-max_commitments", "2")
    page.select_option("#f-availability-0-day", "tue")
    page.fill("#f-availability-0-start", "09:00")
    page.fill("#f-availability-0-end", "17:00")
    page.check("#f-experience-carer_experience")
    page.fill("#f-exclusions", "nothing on the ward where I was an inpatient")
    page.check("#f-consent")
    page.get_by_role("button", name="Send my offer").click()
    page.wait_for_url("**/volunteer/thanks*")
    assert "we have your offer" in page.inner_text("h1")
    assert "Please confirm your email address" in page.inner_text("main")
    pages.check(page, "volunteer-thanks")
    confirm_link = mail_link(smtp, "amina@example.org", "/v/", base)
    # She confirms on her phone: until then nobody suggests her to a team.
    with services.uow() as uow:
        assert [v.status for v in uow.volunteers.where(email="amina@example.org")] == ["unconfirmed"]
    page.goto(confirm_link)
    assert "Confirm your email address" in page.inner_text("h1")
    pages.check(page, "volunteer-confirm-email")
    page.get_by_role("button", name="Confirm my email address").click()
    page.wait_for_url(base + "/me")
    assert "your email address is confirmed" in page.inner_text("main")
    pages.check(page, "volunteer-page-confirmed")
    with services.uow() as uow:
        assert [v.status for v in uow.volunteers.where(email="amina@example.org")] == ["active"]

    # --- A team asks for involvement ------------------------------------------------------------
    page.goto(base + "/team/request")
    pages.check(page, "team-request")
    page.fill("#f-team_name", "Ward 5 team")
    page.fill("#f-project_title", "Fewer restraints on Ward 5")
    page.fill("#f-aim", "Reduce restraint on Ward 5 by 30% by June")
    page.select_option("#f-area", "tower_hamlets")
    page.select_option("#f-qi_stage", "testing")
    page.fill("#f-roles-focus_group", "1")
    page.check("#f-experience_sought-carer_experience")
    page.check("#f-modes-in_person")
    page.fill("#f-venue", "Ward 5 day room, Royal London Hospital")
    page.select_option("#f-meeting_slots-0-day", "tue")
    page.fill("#f-meeting_slots-0-start", "14:00")
    page.fill("#f-meeting_slots-0-end", "15:00")
    page.fill("#f-contact-name", "Sam Lead")
    page.fill("#f-contact-email", "sam.lead@nhs.example")
    page.get_by_role("button", name="Send our request").click()
    page.wait_for_url("**/team/thanks*")
    pages.check(page, "team-thanks")
    status_link = mail_link(smtp, "sam.lead@nhs.example", "/team/status/", base)
    page.goto(status_link)
    assert "Fewer restraints on Ward 5" in page.inner_text("h1")
    assert "Amina" not in page.content()  # no volunteer's details before the introduction
    pages.check(page, "team-status")

    # --- The coordinator signs in, sees the suggestion and its reasons, approves -------------------
    desk = browser.new_context(viewport=DESKTOP)
    lead = desk.new_page()
    lead.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    lead.goto(base + "/coordinator/")
    lead.wait_for_url(re.compile(r"/coordinator/sign-in"))
    pages.check(lead, "coordinator-sign-in")
    lead.fill("#f-email", "lead@nhs.example")
    lead.fill("#f-password", "correct horse battery")
    lead.get_by_role("button", name="Sign in").click()
    lead.wait_for_url(base + "/coordinator/")

    def suggestion_shown() -> bool:
        lead.reload()
        return lead.get_by_role("button", name="Approve Amina").count() == 1

    try:
        eventually(suggestion_shown, seconds=60, every=1)
    except AssertionError:
        raise AssertionError(lead.inner_text("main") + "\n" + processes.log_text()) from None
    board = lead.inner_text("main")
    assert "Lived experience sought" in board and "Free at the team's times" in board
    assert "1 volunteer meets in person only, and does not go to this area" in board
    assert "1 volunteer has not yet confirmed their email address" in board  # Chris, who never confirmed
    # Her own words on her suggestion, and the one click that would make them a rule.
    assert "nothing on the ward where I was an inpatient" in board
    assert lead.get_by_role("button", name="Exclude Ward 5 team for Amina").count() == 1
    pages.check(lead, "coordinator-dashboard")
    lead.get_by_role("button", name="Approve Amina").click()
    lead.wait_for_load_state("load")
    assert "Approved" in lead.inner_text("#flash")

    # Three private links (Chris's and Amina's confirmations, the team's status), then both introductions.
    received = smtp.wait_for(5, seconds=60)
    introductions = [r for r in received if r.message_id.startswith("<introduction.")]
    assert sorted(r.envelope_to[0] for r in introductions) == ["amina@example.org", "sam.lead@nhs.example"]

    lead.goto(base + "/coordinator/requests")
    pages.check(lead, "coordinator-requests")
    lead.get_by_role("link", name="Fewer restraints on Ward 5").click()
    pages.check(lead, "coordinator-request")
    # Why someone was left out, role by role: one page per volunteer.
    lead.get_by_role("link", name="Every role").first.click()
    assert "does not go to this area" in lead.inner_text("main")
    pages.check(lead, "coordinator-why-not")
    lead.go_back()
    lead.get_by_role("link", name=re.compile("Amina Begum, Focus group")).click()
    eventually(lambda: (lead.reload() or True) and "Introduced" in lead.inner_text("main"), seconds=30, every=1)
    pages.check(lead, "coordinator-match")
    # The team's introduction, as if the mail server took it and never answered: "possibly
    # sent", shown on the match with a one-click resend.
    match_id = lead.url.rstrip("/").split("/")[-1]
    team_key = f"introduction:{match_id}:team"
    with services.engine.begin() as conn:  # type: ignore[union-attr]
        conn.execute(
            text("update deliveries set status = 'handing', handed_at = :at, owner = 'lost' where key = :key"),
            {"at": (services.clock.now() - timedelta(hours=1)).replace(tzinfo=None), "key": team_key},
        )
    outgoing.stalled(services.uow(), services.clock, services.settings.delivery_lease_seconds)
    lead.reload()
    assert "Emails that may not have arrived" in lead.inner_text("main")
    pages.check(lead, "coordinator-match-possibly-sent")
    lead.get_by_role("button", name="Resend introduction to team").click()
    lead.wait_for_load_state("load")
    assert "Queued again" in lead.inner_text("#flash")
    eventually(lambda: len([r for r in smtp.to("sam.lead@nhs.example") if r.message_id.startswith("<intro")]) == 2)
    lead.goto(base + "/coordinator/volunteers?status=active")
    pages.check(lead, "coordinator-volunteers")
    lead.get_by_role("link", name="Amina Begum").click()
    pages.check(lead, "coordinator-volunteer")
    lead.goto(base + "/coordinator/calendar")
    assert "Introductory chat" in lead.inner_text("main")
    pages.check(lead, "coordinator-calendar")
    lead.goto(base + "/coordinator/programme")
    assert lead.locator("svg.runchart").count() == 3
    pages.check(lead, "coordinator-programme")
    # The audit log: her sign-in, the approval and the resend, filtered by a GET form.
    follow_nav(lead, "Audit log")
    log = lead.inner_text("main")
    assert "Approved a suggestion" in log and "Resent an email" in log and "Signed in" in log
    pages.check(lead, "coordinator-audit")
    lead.select_option("#f-action", "match.approve")
    lead.get_by_role("button", name="Show").click()
    lead.wait_for_url(re.compile(r"action=match\.approve"))
    assert "1 entry" in lead.inner_text("main") and "Signed in" not in lead.inner_text("tbody")
    # An address that is no page: a page in words, not JSON.
    missing = lead.goto(base + "/coordinator/no-such-page")
    assert missing is not None and missing.status == 404 and "json" not in missing.headers["content-type"]
    pages.check(lead, "page-not-found")

    # --- The volunteer opens their private link and pauses ------------------------------------
    page.goto(status_link)
    assert "Amina" in page.inner_text("main")  # introduced now: the team may see who
    assert "in person: Ward 5 day room, Royal London Hospital" in page.inner_text("main")  # where they meet
    pages.check(page, "team-status-introduced")
    fresh = browser.new_context(viewport=PHONE)
    mine = fresh.new_page()
    mine.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    # Her confirmation link is used up: she asks for a new one.
    mine.goto(confirm_link)
    assert "used or has expired" in mine.inner_text("h1")
    mine.get_by_role("link", name="Get a new link").click()
    pages.check(mine, "new-link")
    mine.fill("#f-email", "Amina@Example.org")
    mine.get_by_role("button", name="Send me a link").click()
    mine.wait_for_url("**/link/sent")
    pages.check(mine, "link-sent")
    links_to_her = lambda: [r for r in smtp.to("amina@example.org") if r.message_id.startswith("<private_link")]  # noqa: E731
    eventually(lambda: len(links_to_her()) == 2, seconds=30)
    volunteer_link = base + re.search(  # type: ignore[union-attr]
        r"http://qimatch\.test(/v/[A-Za-z0-9_\-]+)", links_to_her()[-1].part("text/plain").decode()
    ).group(1)
    mine.goto(volunteer_link)
    pages.check(mine, "volunteer-link")
    mine.get_by_role("button", name="Open my page").click()
    mine.wait_for_url(base + "/me")
    assert "Hello Amina" in mine.inner_text("h1")
    assert "Ward 5 team" in mine.inner_text("main")  # the introduction and the chat coming up
    assert "in person: Ward 5 day room, Royal London Hospital" in mine.inner_text("section[aria-labelledby=h-chats]")
    pages.check(mine, "volunteer-page")
    until = (services.clock.now().date() + timedelta(days=28)).isoformat()
    mine.fill("#f-until", until)
    mine.get_by_role("button", name="Pause", exact=True).click()
    mine.wait_for_url(base + "/me")
    assert "paused until" in mine.inner_text("main").lower()
    pages.check(mine, "volunteer-paused")
    with services.uow() as uow:
        assert [v.status for v in uow.volunteers.where(email="amina@example.org")] == ["paused"]
    # The link was used up by the POST: opening it again offers a new one.
    again = browser.new_context(viewport=PHONE).new_page()
    again.goto(volunteer_link)
    assert "used or has expired" in again.inner_text("h1")

    # --- She rings the coordinator and asks to be erased: a confirm step, then gone ----------
    lead.goto(base + "/coordinator/volunteers")
    lead.get_by_role("link", name="Amina Begum").click()
    lead.get_by_role("link", name="Erase their details…").click()
    assert "What stays" in lead.inner_text("main")
    pages.check(lead, "coordinator-erase")
    lead.get_by_role("button", name="Erase Amina Begum's details").click()
    assert "Tick the box" in lead.inner_text("main")  # not without the confirmation
    lead.get_by_label("Amina Begum asked for their details to be erased").check()
    lead.get_by_role("button", name="Erase Amina Begum's details").click()
    lead.wait_for_url(re.compile(r"/coordinator/volunteers"))
    assert "Erased" in lead.inner_text("#flash")
    with services.uow() as uow:
        assert [v.name for v in uow.volunteers.where(email_key=None)] == ["Erased volunteer"]
    lead.goto(base + "/coordinator/audit?action=volunteer.erase")
    assert "Erased a volunteer at their request" in lead.inner_text("tbody")
    assert "Amina" not in lead.inner_text("main")

    # --- Retention: someone inactive for 25 months is asked, and keeps their details ----------
    long_ago = retention.months_before(services.clock.now(), 25)
    idle = factories.volunteer(name="Olwen Idle", email="olwen@example.org", created_at=long_ago)
    idle.updated_at = long_ago
    with services.uow() as uow:
        uow.volunteers.add(idle)
        uow.commit()
    assert retention.dispatch_due(services.uow(), services.clock, services.settings.retention)["asked"] == 1
    keep_link = mail_link(smtp, "olwen@example.org", "/keep/", base)
    asked = browser.new_context(viewport=PHONE).new_page()
    asked.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    asked.goto(keep_link)
    pages.check(asked, "keep-details")
    asked.get_by_role("button", name="Keep my details").click()
    asked.wait_for_url(base + "/keep/done")
    assert "your details are kept" in asked.inner_text("h1")
    pages.check(asked, "keep-details-done")
    asked.goto(keep_link)
    assert "used or has expired" in asked.inner_text("h1")
    pages.check(asked, "keep-details-used")

    print(f"\nscreenshots of {len(pages.seen)} pages in {screenshots}")
    print("axe findings (none may be serious or critical):", pages.minor or "none")
    assert not csp_errors, csp_errors
    assert not pages.problems, "\n".join(pages.problems)


@pytest.fixture
def totp_server(services: Services, clean: None) -> Iterator[str]:
    """The site as deployed by default: coordinators sign in with a one-time code too."""
    import threading

    from werkzeug.serving import make_server

    from tests.accounts_support import totp_app
    from tests.real_parts import free_port

    app = totp_app(services)
    app.config["TESTING"] = False
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=10)


def test_coordinator_accounts_in_the_browser(
    browser: Any,
    totp_server: str,
    services: Services,
    processes: Processes,
    smtp: SmtpSink,
    screenshots: Path,
    axe_source: str,
) -> None:
    """An admin signs in with a code, looks after their account, invites a coordinator who sets up
    their password and authenticator by the emailed link, and deactivates them; a reset by email."""
    from matcher.services import accounts
    from tests.accounts_support import PASSWORD, code, enrolled

    processes.worker()
    base = totp_server
    pages = Pages(screenshots, axe_source, base)
    secret, _ = enrolled(services, "admin@nhs.example", areas=["tower_hamlets", "newham"], admin=True)
    with services.uow() as uow:
        admin = uow.coordinators.where(email="admin@nhs.example")[0]
    accounts.issue_api_token(services.uow(), admin, services.clock, 12, "Trust records system")
    csp_errors: list[str] = []

    desk = browser.new_context(viewport=DESKTOP)
    me = desk.new_page()
    me.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    me.goto(base + "/coordinator/sign-in")
    me.fill("#f-email", "admin@nhs.example")
    me.fill("#f-password", PASSWORD)
    me.get_by_role("button", name="Sign in").click()
    assert "6-digit code" in me.inner_text("main")
    pages.check(me, "coordinator-sign-in-code-missing")
    me.fill("#f-password", PASSWORD)
    me.fill("#f-otp", code(secret))
    me.get_by_role("button", name="Sign in").click()
    me.wait_for_url(base + "/coordinator/")

    # --- Their own account: password, tokens ------------------------------------------------------
    me.get_by_role("link", name="Your account").click()
    assert "Trust records system" in me.inner_text("main")
    pages.check(me, "coordinator-account")
    me.fill("#f-current_password", PASSWORD)
    me.fill("#f-password", "qwerty123456")
    me.fill("#f-password_again", "qwerty123456")
    me.get_by_role("button", name="Change password").click()
    assert "most common" in me.inner_text("main")
    pages.check(me, "coordinator-account-errors")
    me.get_by_role("button", name=re.compile("Revoke Trust records system")).click()
    assert "revoked" in me.inner_text("#flash") and "Trust records system" not in me.inner_text("main")

    # --- Coordinators: invite, and the invited one sets up their account --------------------------
    follow_nav(me, "Accounts")
    pages.check(me, "coordinator-coordinators")
    me.fill("#f-email", "nia@nhs.example")
    me.get_by_role("button", name="Send invitation").click()
    assert "Give at least one area" in me.inner_text("main")
    pages.check(me, "coordinator-invite-errors")
    me.fill("#f-email", "nia@nhs.example")
    me.fill("#f-name", "Nia Okafor")
    me.get_by_label("Newham").check()
    me.get_by_role("button", name="Send invitation").click()
    assert "Invitation on its way" in me.inner_text("#flash")

    invitation = mail_link(smtp, "nia@nhs.example", "/coordinator/password/", base)
    nia = browser.new_context(viewport=PHONE).new_page()
    nia.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    nia.goto(invitation)
    pages.check(nia, "coordinator-set-up")
    her_secret = nia.inner_text("#totp-key")
    nia.fill("#f-password", "nia's own passphrase")
    nia.fill("#f-password_again", "nia's own passphrase")
    nia.fill("#f-otp", code(her_secret))
    nia.get_by_role("button", name="Set up my account").click()
    assert len(nia.locator(".app-recovery-codes li").all()) == 10
    pages.check(nia, "coordinator-welcome")
    nia.goto(invitation)
    assert "does not work" in nia.inner_text("h1")
    pages.check(nia, "coordinator-link-dead")

    me.reload()
    me.get_by_role("button", name="Deactivate nia@nhs.example").click()
    assert "deactivated" in me.inner_text("#flash")
    assert "Deactivated" in me.inner_text("table")

    # --- A reset by email (the same answer for any address) ----------------------------------------
    stranger = browser.new_context(viewport=PHONE).new_page()
    stranger.goto(base + "/coordinator/sign-in")
    stranger.get_by_role("link", name="Forgotten your password?").click()
    pages.check(stranger, "coordinator-reset")
    stranger.fill("#f-email", "admin@nhs.example")
    stranger.get_by_role("button", name="Email me a link").click()
    assert "If this email belongs to a coordinator account" in stranger.inner_text("main")
    pages.check(stranger, "coordinator-reset-sent")
    stranger.goto(mail_link(smtp, "admin@nhs.example", "/coordinator/password/", base))
    assert "Choose a new password" in stranger.inner_text("h1")
    pages.check(stranger, "coordinator-new-password")

    # --- Sign out everywhere ------------------------------------------------------------------------
    me.get_by_role("link", name="Your account").click()
    me.get_by_role("button", name="Sign out everywhere").click()
    me.wait_for_url(re.compile(r"/coordinator/sign-in"))
    me.goto(base + "/coordinator/account")
    me.wait_for_url(re.compile(r"/coordinator/sign-in"))

    print("axe findings (none may be serious or critical):", pages.minor or "none")
    assert not csp_errors, csp_errors


def test_sessions_in_the_browser(
    browser: Any, live_server: str, services: Services, screenshots: Path, axe_source: str
) -> None:
    """A coordinator schedules a session by form; a volunteer books it from her own page; the
    coordinator sees the booking, and once the session has begun, marks attendance."""
    from matcher.domain import TokenPurpose
    from matcher.scheduling import LONDON
    from matcher.services import intake, links

    base = live_server
    pages = Pages(screenshots, axe_source, base)
    coordinators.create_coordinator(
        services.uow(), "lead@nhs.example", "correct horse battery", ["tower_hamlets"], services.clock
    )
    amina = intake.register_volunteer(
        services.uow(), factories.offer(name="Amina Begum", trainings=[{"code": "qi_pocket"}]), services.clock
    )
    desk = browser.new_context(viewport=DESKTOP)
    lead = desk.new_page()
    lead.goto(base + "/coordinator/sign-in")
    lead.fill("#f-email", "lead@nhs.example")
    lead.fill("#f-password", "correct horse battery")
    lead.get_by_role("button", name="Sign in").click()
    lead.wait_for_url(base + "/coordinator/")
    follow_nav(lead, "Sessions")
    lead.get_by_role("button", name="Schedule").click()  # nothing filled in: each field says what it needs
    assert lead.locator("#error-summary").is_visible()
    pages.check(lead, "coordinator-sessions-errors")
    start = (services.clock.now() + timedelta(days=6)).astimezone(LONDON).replace(hour=10, minute=0)
    lead.select_option("#f-kind", "qi_introduction")
    lead.select_option("#f-area", "tower_hamlets")
    lead.fill("#f-starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    lead.fill("#f-ends_at", (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    lead.fill("#f-venue", "Mile End Hospital, room 4")
    lead.fill("#f-capacity", "8")
    lead.select_option("#f-training", "qi_introduction")
    lead.get_by_role("button", name="Schedule").click()
    lead.wait_for_url(re.compile(r"/coordinator/sessions/[0-9a-f]{32}$"))
    session_url = lead.url
    pages.check(lead, "coordinator-session")

    secret = links.issue(services.uow(), TokenPurpose.VOLUNTEER_LINK, amina.id, services.clock)
    mine = browser.new_context(viewport=PHONE).new_page()
    mine.goto(f"{base}/v/{secret}")
    mine.get_by_role("button", name="Open my page").click()
    mine.wait_for_url(base + "/me")
    assert "Not yet verified" in mine.inner_text("#sessions")
    mine.get_by_role("button", name=re.compile("^Book a place")).click()
    mine.wait_for_url(re.compile(r"/me#sessions$"))
    assert "Your place is booked" in mine.inner_text("#flash")
    mine.locator("#sessions").scroll_into_view_if_needed()
    pages.check(mine, "volunteer-sessions")

    # It took place yesterday at 10:00. (Six days back made it today at 10:00, still to come when
    # the suite ran between midnight and 10:00 in London, and the attendance boxes were not shown.)
    with services.engine.begin() as conn:  # type: ignore[union-attr]
        back = "interval '7 days'"
        conn.execute(text(f"UPDATE programme_sessions SET starts_at = starts_at - {back}, ends_at = ends_at - {back}"))
    lead.goto(session_url)
    assert "Amina Begum" in lead.inner_text("main")
    lead.check(f"#came-{amina.id}")
    lead.get_by_role("button", name="Save attendance").click()
    lead.wait_for_load_state("load")
    assert "Attendance saved" in lead.inner_text("#flash")
    pages.check(lead, "coordinator-session-attendance")
    lead.goto(base + "/coordinator/sessions")
    pages.check(lead, "coordinator-sessions")
    mine.goto(base + "/me")
    assert "Verified" in mine.inner_text("#sessions")

    print("axe findings (none may be serious or critical):", pages.minor or "none")


def test_the_api_docs_page_works_with_no_other_host_reachable(
    browser: Any, live_server: str, screenshots: Path, axe_source: str
) -> None:
    """On a hospital network without internet access the docs page still shows every operation:
    nothing it needs comes from another host, and the strict policy blocks nothing it uses."""
    base = live_server
    pages = Pages(screenshots, axe_source, base)
    context = browser.new_context(viewport=DESKTOP)
    elsewhere: list[str] = []

    def only_this_site(route: Any) -> None:
        if route.request.url.startswith(base + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_site)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    page.goto(base + "/api/docs")
    page.wait_for_selector(".opblock-summary", timeout=20_000)
    spec = json.loads(urllib.request.urlopen(base + "/api/openapi.json", timeout=10).read())
    operations = sum(
        1 for item in spec["paths"].values() for method in item if method in ("get", "post", "put", "patch", "delete")
    )
    assert page.locator(".opblock").count() == operations
    assert page.get_by_text("/api/v1/volunteers/{volunteer_id}").first.is_visible()
    page.locator(".opblock-summary").first.click()  # an operation opens, with its answers
    page.wait_for_selector(".responses-table")
    pages.check(page, "api-docs")
    # "Try it out" calls this site's API under the same policy (connect-src 'self').
    taxonomy = page.locator("#operations-misc-get_api_v1_taxonomy")
    taxonomy.locator(".opblock-summary-control").click()
    taxonomy.get_by_role("button", name="Try it out").click()
    taxonomy.get_by_role("button", name="Execute").click()
    taxonomy.locator(".live-responses-table .response-col_status", has_text="200").wait_for(timeout=10_000)
    print("axe findings on the API docs page (none may be serious or critical):", pages.minor or "none")
    assert elsewhere == []
    assert [m for m in console if "Content Security Policy" in m or "Refused" in m] == []
    assert not pages.problems, "\n".join(pages.problems)


def test_feedback_form_and_digest_pages_in_the_browser(
    browser: Any,
    live_server: str,
    services: Services,
    processes: Processes,
    smtp: SmtpSink,
    screenshots: Path,
    axe_source: str,
) -> None:
    """After a follow-up chat: the volunteer's feedback form (with its errors), the thank-you
    page and the polite "already answered" page; the coordinator's dashboard with the poor
    answer, the match's feedback, the programme's figures and the digest page."""
    from tests.integration.test_feedback_on_real_parts import held_chat, link_in

    processes.worker()
    base = live_server
    pages = Pages(screenshots, axe_source, base)
    coordinators.create_coordinator(
        services.uow(), "lead@nhs.example", "correct horse battery", ["tower_hamlets"], services.clock
    )
    chat = held_chat(services)
    feedback.dispatch_due(services.uow(), services.clock, services.settings.matching)
    to_volunteer = eventually(lambda: smtp.to(chat["volunteer"]), seconds=60)[0]
    csp_errors: list[str] = []

    page = browser.new_context(viewport=PHONE).new_page()
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(base + link_in(to_volunteer))
    assert "How is it going?" in page.inner_text("h1")
    pages.check(page, "feedback-form")
    page.get_by_role("button", name="Send my answers").click()
    assert page.locator("#error-summary").is_visible()
    assert page.locator("#f-rating-error").is_visible()
    pages.check(page, "feedback-form-errors")
    page.check("#f-rating-2")
    page.fill("#f-note", "The meetings keep moving and I cannot get there")
    page.check("#f-wants_call-yes")
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url("**/feedback/thanks*")
    assert "told straight away" in page.inner_text("main")
    pages.check(page, "feedback-thanks")
    page.goto(base + link_in(to_volunteer))
    assert "answered this form already" in page.inner_text("h1")
    pages.check(page, "feedback-already-answered")
    eventually(lambda: smtp.to("lead@nhs.example"), seconds=60)  # the alert

    lead = browser.new_context(viewport=DESKTOP).new_page()
    lead.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    lead.goto(base + "/coordinator/sign-in")
    lead.fill("#f-email", "lead@nhs.example")
    lead.fill("#f-password", "correct horse battery")
    lead.get_by_role("button", name="Sign in").click()
    lead.wait_for_url(base + "/coordinator/")
    assert "Feedback that needs you" in lead.inner_text("main")
    pages.check(lead, "coordinator-dashboard-feedback")
    lead.get_by_role("link", name="Fewer restraints on Ward 5").first.click()
    assert "The meetings keep moving" in lead.inner_text("main")
    pages.check(lead, "coordinator-match-feedback")
    lead.get_by_role("button", name=re.compile("Mark as dealt with")).click()
    lead.wait_for_load_state("load")
    assert "Dealt with" in lead.inner_text("main")
    lead.goto(base + "/coordinator/programme")
    assert "Feedback after follow-up chats" in lead.inner_text("main")
    pages.check(lead, "coordinator-programme-feedback")
    lead.goto(base + "/coordinator/digest")
    pages.check(lead, "coordinator-digest")
    lead.fill("#f-digest_time", "07:45")
    lead.get_by_role("button", name="Save").click()
    lead.wait_for_load_state("load")
    assert "07:45" in lead.inner_text("#flash")
    with services.uow() as uow:
        assert uow.coordinators.where(email="lead@nhs.example")[0].digest_time == "07:45"

    print(f"\nscreenshots of {len(pages.seen)} pages in {screenshots}")
    print("axe findings (none may be serious or critical):", pages.minor or "none")
    assert not csp_errors, csp_errors
    assert not pages.problems, "\n".join(pages.problems)
