"""Involvement payments in Chromium: a volunteer sets a 4-weekly cap on her own page; a
coordinator sets a rate, records three times she took part (the third is held, with the
amount over the cap), approves two and exports the month twice (the same file); she sees
her statement. Every page is photographed and checked with axe-core."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from matcher.bootstrap import Services
from matcher.domain import TokenPurpose
from matcher.payments import four_weeks_of
from matcher.services import coordinators, intake, links
from tests import factories
from tests.e2e.navigation import follow_nav
from tests.e2e.test_pages_in_browser import DESKTOP, PHONE, Pages

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def three_days_in_one_period_and_month(today: date) -> list[date]:
    """Three days a week apart inside one 4-week period (from the default anchor) and one month, in the past."""
    for back in range(1, 30):
        start = four_weeks_of(today - timedelta(days=28 * back))[0]
        days = [start, start + timedelta(days=7), start + timedelta(days=14)]
        if days[0].month == days[2].month:
            return days
    raise AssertionError("no such days")


def test_payments_in_the_browser(
    browser: Any, live_server: str, services: Services, screenshots: Path, axe_source: str
) -> None:
    base = live_server
    pages = Pages(screenshots, axe_source, base)
    days = three_days_in_one_period_and_month(services.clock.now().date())
    month = f"{days[0].year:04d}-{days[0].month:02d}"
    coordinators.create_coordinator(
        services.uow(), "lead@nhs.example", "correct horse battery", ["tower_hamlets"], services.clock
    )
    amina = intake.register_volunteer(services.uow(), factories.offer(name="Amina Begum"), services.clock)

    # --- She sets a cap on her own page --------------------------------------------------------
    secret = links.issue(services.uow(), TokenPurpose.VOLUNTEER_LINK, amina.id, services.clock)
    mine = browser.new_context(viewport=PHONE).new_page()
    mine.goto(f"{base}/v/{secret}")
    mine.get_by_role("button", name="Open my page").click()
    mine.wait_for_url(base + "/me")
    assert "Nothing on your statement yet" in mine.inner_text("#payments")
    mine.fill("#f-cap_four_weeks_pence", "100.5.0")
    mine.get_by_role("button", name="Save my payment choices").click()
    assert mine.locator("#error-summary").is_visible()
    pages.check(mine, "volunteer-payments-errors")
    mine.fill("#f-cap_four_weeks_pence", "100")
    mine.get_by_role("button", name="Save my payment choices").click()
    mine.wait_for_url(re.compile(r"/me#payments$"))
    assert "Your payment choices are saved" in mine.inner_text("#flash")

    # --- The coordinator sets a rate and records three activities --------------------------------
    lead = browser.new_context(viewport=DESKTOP).new_page()
    lead.goto(base + "/coordinator/sign-in")
    lead.fill("#f-email", "lead@nhs.example")
    lead.fill("#f-password", "correct horse battery")
    lead.get_by_role("button", name="Sign in").click()
    lead.wait_for_url(base + "/coordinator/")
    follow_nav(lead, "Payments")
    lead.get_by_role("link", name="Rates", exact=True).click()
    lead.get_by_role("button", name="Set the rate").click()  # nothing filled in
    assert lead.locator("#error-summary").is_visible()
    pages.check(lead, "coordinator-payment-rates-errors")
    lead.select_option("#f-activity_type", "focus_group")
    lead.fill("#f-pence", "20.00")
    lead.check("#f-basis-hour")
    lead.fill("#f-effective_from", "2020-01-01")
    lead.get_by_role("button", name="Set the rate").click()
    assert "£20.00 per hour" in lead.inner_text("main")
    pages.check(lead, "coordinator-payment-rates")

    lead.get_by_role("link", name="Claims", exact=True).click()
    for day in days:
        lead.select_option("#f-volunteer_id", amina.id)
        lead.select_option("#f-activity_type", "focus_group")
        lead.fill("#f-on", day.isoformat())
        lead.fill("#f-minutes", "120")
        lead.get_by_role("button", name="Record", exact=True).click()
        lead.wait_for_load_state("load")
    assert "over the 4-weekly cap by £20.00" in lead.inner_text("#flash")
    assert "over the 4-weekly cap by £20.00" in lead.inner_text("table")
    pages.check(lead, "coordinator-payment-claims")
    lead.get_by_role("link", name="Amina Begum").first.click()
    assert lead.input_value("#f-cap_four_weeks_pence") == "100.00"  # what she set herself
    pages.check(lead, "coordinator-payment-account")
    lead.go_back()
    for _ in range(2):
        lead.get_by_role("button", name=re.compile("^Approve")).first.click()
        lead.wait_for_load_state("load")
        assert "Approved: £40.00" in lead.inner_text("#flash")

    # --- The finance export, twice -------------------------------------------------------------
    lead.get_by_role("link", name="Finance export", exact=True).click()
    lead.fill("#f-month", month)
    lead.get_by_role("button", name="Export").click()
    assert "Exported 2 lines, £80.00" in lead.inner_text("#flash")
    with lead.expect_download() as first:
        lead.get_by_role("link", name=re.compile("^Download the CSV")).first.click()
    one = Path(first.value.path()).read_bytes()
    lead.fill("#f-month", month)
    lead.get_by_role("button", name="Export").click()
    assert "here it is again, unchanged" in lead.inner_text("#flash")
    assert lead.get_by_role("link", name=re.compile("^Download the CSV")).count() == 1
    with lead.expect_download() as second:
        lead.get_by_role("link", name=re.compile("^Download the CSV")).first.click()
    assert Path(second.value.path()).read_bytes() == one
    assert b"Amina Begum" in one and b"TOTAL" in one and b",8000,80.00" in one
    pages.check(lead, "coordinator-finance-export")

    # --- She sees her statement ----------------------------------------------------------------
    mine.reload()  # her page as it is now
    statement = mine.inner_text("#payments")
    assert statement.count("£40.00") >= 3 and "over the 4-weekly cap by £20.00" in statement
    assert "sent to finance" in statement
    mine.locator("#payments").scroll_into_view_if_needed()
    pages.check(mine, "volunteer-payments-statement")

    print("axe findings (none may be serious or critical):", pages.minor or "none")
    assert not pages.problems, "\n".join(pages.problems)
