"""Outreach in Chromium: a coordinator records a stall, someone signs up through its QR
link on their phone, another offer is taken in person, and a visitor tells the team about
a meeting. Every page is photographed and checked with axe-core."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from matcher.bootstrap import Services
from matcher.services import coordinators
from tests.e2e.navigation import follow_nav
from tests.e2e.test_pages_in_browser import DESKTOP, PHONE, Pages

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def fill_offer(page: Any, name: str, email: str) -> None:
    page.fill("#f-name", name)
    page.fill("#f-email", email)
    page.check("#f-kind-service_user")
    page.select_option("#f-home_area", "tower_hamlets")
    page.check("#f-roles-focus_group")
    page.check("#f-modes-video")
    page.select_option("#f-max_commitments", "1")
    page.select_option("#f-availability-0-day", "wed")
    page.fill("#f-availability-0-start", "10:00")
    page.fill("#f-availability-0-end", "12:00")
    page.check("#f-consent")


def test_an_outreach_event_brings_in_sign_ups_in_the_browser(
    browser: Any, live_server: str, services: Services, screenshots: Path, axe_source: str
) -> None:
    base = live_server
    pages = Pages(screenshots, axe_source, base)
    csp_errors: list[str] = []
    coordinators.create_coordinator(
        services.uow(), "lead@nhs.example", "correct horse battery", ["tower_hamlets"], services.clock
    )
    lead = browser.new_context(viewport=DESKTOP).new_page()
    lead.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    lead.goto(base + "/coordinator/sign-in")
    lead.fill("#f-email", "lead@nhs.example")
    lead.fill("#f-password", "correct horse battery")
    lead.get_by_role("button", name="Sign in").click()
    lead.wait_for_url(base + "/coordinator/")

    # --- The coordinator records the stall ----------------------------------------------------
    follow_nav(lead, "Outreach")
    pages.check(lead, "coordinator-outreach-empty")
    lead.get_by_role("link", name="Record an event").click()
    lead.get_by_role("button", name="Record the event").click()
    assert lead.locator("#error-summary").is_visible()
    pages.check(lead, "coordinator-outreach-new-errors")
    lead.fill("#f-name", "Tower Hamlets wellbeing day")
    lead.fill("#f-held_on", "2026-11-14")
    lead.select_option("#f-area", "tower_hamlets")
    lead.check("#f-kind-stall")
    lead.fill("#f-people_reached", "40")
    lead.get_by_role("button", name="Record the event").click()
    lead.wait_for_url(re.compile(r"/coordinator/outreach/[0-9a-f]{32}$"))
    event_url = lead.url
    qr = lead.get_by_role("img", name=re.compile("QR code of the sign-up link"))
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the SVG loaded under the CSP
    link = lead.locator("main a[href*='/join/']").first.inner_text()
    pages.check(lead, "coordinator-outreach-event")

    # --- Someone scans it at the stall and signs up on their phone ----------------------------
    phone = browser.new_context(viewport=PHONE).new_page()
    phone.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    phone.goto(link.replace("http://qimatch.test", base))
    assert "Tower Hamlets wellbeing day" in phone.inner_text("main")
    pages.check(phone, "join-through-event")
    fill_offer(phone, "Rahim Uddin", "rahim@example.org")
    phone.get_by_role("button", name="Send my offer").click()
    phone.wait_for_url("**/volunteer/thanks*")

    # --- Another offers in person: the coordinator types it in with them ----------------------
    lead.goto(event_url)
    lead.get_by_role("link", name="Enter an offer made in person").click()
    assert "I have read this to them" in lead.inner_text("main")
    pages.check(lead, "coordinator-assisted-sign-up")
    fill_offer(lead, "Joan Smith", "joan@example.org")
    lead.get_by_role("button", name="Send my offer").click()
    lead.wait_for_url(event_url)
    assert "Joan Smith's offer is recorded" in lead.inner_text("main")
    assert re.search(r"Signed up through its link\s+2", lead.inner_text("main"))
    with services.uow() as uow:
        joan, rahim = (uow.volunteers.where(email=e)[0] for e in ("joan@example.org", "rahim@example.org"))
        [event] = uow.outreach_events.where()
    assert joan.source_event_id == rahim.source_event_id == event.id
    assert joan.consent_assisted_by is not None and rahim.consent_assisted_by is None

    # --- A visitor tells the team about a meeting ---------------------------------------------
    phone.goto(base + "/")
    phone.get_by_role("link", name="Tell us about a meeting we should attend").click()
    pages.check(phone, "suggest-a-meeting")
    phone.fill("#f-meeting", "Carers' café")
    phone.select_option("#f-area", "tower_hamlets")
    phone.fill("#f-details", "First Monday of the month, 6pm, Bancroft Road library")
    phone.get_by_role("button", name="Send").click()
    phone.wait_for_url("**/suggest-a-meeting/thanks")
    pages.check(phone, "suggest-a-meeting-thanks")
    lead.goto(base + "/coordinator/outreach")
    assert "Carers' café" in lead.inner_text("main")
    pages.check(lead, "coordinator-outreach")
    lead.goto(base + "/coordinator/programme")
    assert "Where volunteers came from" in lead.inner_text("main")
    pages.check(lead, "coordinator-programme-sources")

    print("axe findings (none may be serious or critical):", pages.minor or "none")
    assert not csp_errors, csp_errors
    assert not pages.problems, "\n".join(pages.problems)
