"""Informal chats in Chromium: a coordinator publishes a free half hour, a team books it
from the home page, and both receive the calendar invitation at the SMTP server (a real
worker sends them). Every page is photographed and checked with axe-core."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from matcher.bootstrap import Services
from matcher.scheduling import LONDON
from matcher.services import coordinators
from tests.e2e.navigation import follow_nav
from tests.e2e.test_pages_in_browser import DESKTOP, PHONE, Pages
from tests.integration.conftest import Processes, eventually
from tests.real_parts import SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_a_team_books_an_informal_chat_in_the_browser(
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
    csp_errors: list[str] = []
    coordinators.create_coordinator(
        services.uow(), "priya@nhs.example", "correct horse battery", ["tower_hamlets"], services.clock,
        name="Priya Shah",
    )  # fmt: skip
    lead = browser.new_context(viewport=DESKTOP).new_page()
    lead.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    lead.goto(base + "/coordinator/sign-in")
    lead.fill("#f-email", "priya@nhs.example")
    lead.fill("#f-password", "correct horse battery")
    lead.get_by_role("button", name="Sign in").click()
    lead.wait_for_url(base + "/coordinator/")

    # --- The coordinator publishes a free half hour --------------------------------------------
    follow_nav(lead, "Team chats")
    pages.check(lead, "coordinator-team-chats-empty")
    day = (services.clock.now().astimezone(LONDON) + timedelta(days=3)).date()
    lead.fill("#f-day", day.isoformat())
    lead.fill("#f-time", "14:00")
    lead.select_option("#f-area", "tower_hamlets")
    lead.fill("#f-place", "https://meet.example/priya")
    lead.get_by_role("button", name="Publish the slot").click()
    assert "The slot is published" in lead.inner_text("main")

    # --- A team finds it from the home page and books it ---------------------------------------
    team = browser.new_context(viewport=PHONE).new_page()
    team.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    team.goto(base + "/")
    team.get_by_role("link", name="Book an informal chat about involvement").click()
    team.select_option("#f-filter-area", "tower_hamlets")
    team.get_by_role("button", name="Show times").click()
    team.get_by_role("button", name="Book this chat").click()  # nothing chosen yet
    assert team.locator("#error-summary").is_visible()
    pages.check(team, "team-chat-errors")
    team.locator("input[name=chat]").first.check()
    team.fill("#f-team_name", "Ward 5 team")
    team.fill("#f-contact-name", "Sam Lead")
    team.fill("#f-contact-email", "sam.lead@nhs.example")
    team.fill("#f-about", "How to involve carers in our discharge project")
    team.get_by_role("button", name="Book this chat").click()
    team.wait_for_url("**/team/chat/booked")
    pages.check(team, "team-chat-booked")

    # --- Both receive the calendar invitation --------------------------------------------------
    for address in ("sam.lead@nhs.example", "priya@nhs.example"):
        [mail] = eventually(lambda a=address: smtp.to(a), seconds=60)
        invite = Calendar.from_ical(mail.part("text/calendar"))
        [event] = invite.walk("VEVENT")
        start = event.decoded("dtstart")
        assert (start.date(), start.hour, start.minute) == (day, 14, 0)
        assert "meet.example/priya" in str(event["location"])
    lead.goto(base + "/coordinator/team-chats")
    assert "Booked by Sam Lead, Ward 5 team" in lead.inner_text("main")
    pages.check(lead, "coordinator-team-chats")

    print("axe findings (none may be serious or critical):", pages.minor or "none")
    assert not csp_errors, csp_errors
    assert not pages.problems, "\n".join(pages.problems)
