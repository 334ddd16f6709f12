"""The call list in Chromium: a coordinator finds who is owed a call (an introduction for a
volunteer who prefers the phone, a withdrawal), records one with a note (a missing note is
an error naming it), and finds the note on the match's timeline. Every page is photographed
and checked with axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from matcher.bootstrap import Services
from matcher.services import coordinators, decisions, intake, volunteer_self
from tests import factories
from tests.e2e.navigation import follow_nav
from tests.e2e.test_pages_in_browser import DESKTOP, Pages

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_the_call_list_in_the_browser(
    browser: Any, live_server: str, services: Services, screenshots: Path, axe_source: str
) -> None:
    base, clock = live_server, services.clock
    pages = Pages(screenshots, axe_source, base)
    lead = coordinators.create_coordinator(
        services.uow(), "priya@nhs.example", "correct horse battery", ["tower_hamlets"], clock, name="Priya Shah"
    )
    phone = {"phone": "020 7946 0000", "preferred_contact": "phone"}
    amina = intake.register_volunteer(services.uow(), factories.offer(name="Amina Begum", **phone), clock)
    request = intake.submit_request(
        services.uow(), factories.team_request(project_title="Fewer restraints on Ward 5"), clock
    )
    match = decisions.make_match(
        services.uow(), request.id, amina.id, "focus_group", lead, services.settings.matching, clock
    )
    bola = intake.register_volunteer(
        services.uow(), factories.offer(name="Bola Ade", phone="07700 900123", preferred_contact="phone"), clock
    )
    volunteer_self.withdraw(services.uow(), bola.id, clock)
    csp_errors: list[str] = []

    page = browser.new_context(viewport=DESKTOP).new_page()
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(base + "/coordinator/sign-in")
    page.fill("#f-email", "priya@nhs.example")
    page.fill("#f-password", "correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/coordinator/")

    follow_nav(page, "Calls")
    page.wait_for_url(base + "/coordinator/calls")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    first, second = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "Amina Begum" in first and "020 7946 0000" in first and "Introduction" in first  # most overdue first
    assert "Fewer restraints on Ward 5" in first
    assert "Bola Ade" in second and "Asked to stop" in second and "withdrew" in second
    pages.check(page, "coordinator-calls")

    page.get_by_role("link", name="Record the call with Amina").click()
    page.get_by_role("button", name="Mark as called").click()  # no note yet
    assert page.locator("#error-summary").is_visible() and page.locator("#f-note-error").is_visible()
    pages.check(page, "coordinator-call-errors")
    page.fill("#f-note", "Spoke to Amina: she will join the introductory chat by video on Tuesday.")
    page.get_by_role("button", name="Mark as called").click()
    page.wait_for_url(base + "/coordinator/calls")
    assert "Call with Amina Begum recorded" in page.inner_text("main")
    assert page.locator("tbody tr").count() == 1

    page.get_by_role("link", name="Calls made").click()
    assert "she will join the introductory chat" in page.inner_text("main")
    pages.check(page, "coordinator-calls-made")
    page.goto(f"{base}/coordinator/matches/{match.id}")
    timeline = page.inner_text("main")
    assert "Phoned by a coordinator (introduction)" in timeline and "she will join the introductory chat" in timeline
    with services.uow() as uow:
        (call,) = uow.calls.where(volunteer_id=amina.id)
        assert call.done and call.called_by == lead.id

    print("axe findings (none may be serious or critical):", pages.minor or "none")
    assert not csp_errors, csp_errors
    assert not pages.problems, "\n".join(pages.problems)
