"""An admin coordinator edits the programme's words in Chromium.

The FAQ: a preview first, then saved; a visitor sees the new question at once, on a
second web app too (each gunicorn process reads the text per request, no cache to wait
for), with the contents linking to it and a pasted script gone. An email template: a
broken one is refused naming its line; a good one is in the next letter; a revert brings
the shipped text back. The vocabulary page adds, relabels, reorders and retires a code.
Every page is photographed and checked with axe-core: no serious or critical violations.
"""

from __future__ import annotations

import re
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from matcher.bootstrap import Services
from matcher.domain import TokenPurpose
from matcher.services import coordinators, intake, queries
from tests import factories
from tests.e2e.navigation import follow_nav, nav_has
from tests.e2e.test_pages_in_browser import DESKTOP, PHONE, Pages
from tests.real_parts import free_port
from web.app import create_app

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
PASSWORD = "correct horse battery"


def sign_in(browser: Any, base: str, email: str) -> Any:
    page = browser.new_context(viewport=DESKTOP).new_page()
    page.goto(base + "/coordinator/sign-in")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/coordinator/")
    return page


def submit(page: Any, button: Any) -> None:
    """Click a form's button and wait for the page it leads to (not the one already loaded)."""
    with page.expect_navigation():
        button.click()


def another_web_process(services: Services) -> tuple[str, Any]:
    """A second app over the same database: what a second gunicorn worker is."""
    app = create_app(services_=services)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}", server


def audit_actions(services: Services) -> list[str]:
    with services.engine.connect() as conn:  # type: ignore[union-attr]
        return [a for (a,) in conn.execute(text("SELECT action FROM audit_entries ORDER BY id"))]


def test_an_admin_edits_the_faq_and_a_visitor_sees_it_at_once(
    browser: Any, live_server: str, services: Services, screenshots: Path, axe_source: str
) -> None:
    base = live_server
    pages = Pages(screenshots, axe_source, base)
    coordinators.create_coordinator(
        services.uow(), "admin@nhs.example", PASSWORD, ["tower_hamlets"], services.clock, admin=True
    )
    coordinators.create_coordinator(services.uow(), "lead@nhs.example", PASSWORD, ["tower_hamlets"], services.clock)
    other_base, other = another_web_process(services)
    visitor = browser.new_context(viewport=PHONE).new_page()
    visitor.goto(other_base + "/faq")  # the text as shipped, read once by the other process
    assert "Can I bring someone with me?" not in visitor.inner_text("main")

    admin = sign_in(browser, base, "admin@nhs.example")
    follow_nav(admin, "Pages and emails")
    admin.wait_for_url(base + "/coordinator/content")
    pages.check(admin, "content-list")
    admin.get_by_role("link", name="Questions and answers (the FAQ page)").click()
    shipped = admin.input_value("#f-body")
    assert shipped.startswith("## What is Quality Improvement (QI)?")
    edited = (
        "## Can I bring someone with me?\n\nYes: a carer, friend or supporter is **welcome** at every meeting."
        "\n\n<script>document.title='pwned'</script>\n\n" + shipped
    )
    admin.fill("#f-body", edited)
    submit(admin, admin.get_by_role("button", name="Preview"))
    preview = admin.locator(".app-preview")
    assert "Yes: a carer, friend or supporter is welcome" in preview.inner_text()
    assert preview.locator("strong", has_text="welcome").count() == 1
    assert admin.input_value("#f-body") == edited  # the text is kept for more editing
    pages.check(admin, "content-faq-preview")
    visitor.goto(other_base + "/faq")
    assert "Can I bring someone with me?" not in visitor.inner_text("main")  # a preview saves nothing

    admin.get_by_role("button", name="Save").click()
    admin.wait_for_url(re.compile(r"/coordinator/content/faq$"))
    assert "Saved, and in use now" in admin.inner_text("#flash")
    assert "(in use)" in admin.inner_text("table")
    pages.check(admin, "content-faq-saved")

    for where in (base, other_base):  # both processes, at once: no restart, no cache to wait out
        visitor.goto(where + "/faq")
        assert "Yes: a carer, friend or supporter is welcome at every meeting." in visitor.inner_text("main")
        assert visitor.title() != "pwned" and "document.title" not in visitor.content().split("<main")[1]
        visitor.get_by_role("link", name="Can I bring someone with me?").click()
        assert visitor.url.endswith("#can-i-bring-someone-with-me")
        assert visitor.locator("h2#can-i-bring-someone-with-me").is_visible()
    pages.check(visitor, "faq-edited")

    # The home page's words too.
    admin.goto(base + "/coordinator/content/home.intro")
    admin.fill("#f-body", "Teams across **the trust** want to hear from you.")
    admin.get_by_role("button", name="Save").click()
    admin.wait_for_url(re.compile(r"/coordinator/content/home.intro$"))
    visitor.goto(other_base + "/")
    assert "Teams across the trust want to hear from you." in visitor.inner_text(".nhsuk-body-l")
    pages.check(visitor, "home-edited")

    # Two admins editing one text: the second save does not silently undo the first.
    other_tab = admin.context.new_page()
    other_tab.goto(base + "/coordinator/content/home.more")
    admin.goto(base + "/coordinator/content/home.more")
    admin.fill("#f-body", "## How it works\n\nFirst edit.")
    submit(admin, admin.get_by_role("button", name="Save"))
    other_tab.fill("#f-body", "## How it works\n\nSecond edit, started before the first was saved.")
    submit(other_tab, other_tab.get_by_role("button", name="Save"))
    assert "Someone saved a newer version" in other_tab.inner_text("#error-summary")
    assert "Second edit" in other_tab.input_value("#f-body")  # their words are kept
    pages.check(other_tab, "content-save-conflict")
    visitor.goto(other_base + "/")
    assert "First edit." in visitor.inner_text("main")

    # An email's wording: a broken template is refused with its line; a good one is in the next letter.
    admin.goto(base + "/coordinator/content/email/private_link_volunteer.txt")
    admin.fill("#f-body", "Subject: Your page\n\nHello {{ first_name }\n")
    submit(admin, admin.get_by_role("button", name="Save"))
    assert "Line 3:" in admin.inner_text("#error-summary")
    pages.check(admin, "content-email-refused")
    admin.fill("#f-body", "Subject: Your own page, {{ first_name }}\n\nOpen it here: {{ link }}\n")
    submit(admin, admin.get_by_role("button", name="Preview"))
    assert "Your own page, [first_name]" in admin.inner_text(".app-preview")
    pages.check(admin, "content-email-preview")
    admin.get_by_role("button", name="Save").click()
    admin.wait_for_url(re.compile(r"/email/private_link_volunteer.txt$"))
    amina = intake.register_volunteer(services.uow(), factories.offer(name="Amina Begum"), services.clock)
    letter = services.letters.private_link(TokenPurpose.VOLUNTEER_LINK, amina, "s3cret", "k1")
    assert letter.subject == "Your own page, Amina" and "Open it here: " in letter.text
    admin.get_by_role("button", name="Go back to the text as shipped").click()
    admin.wait_for_url(re.compile(r"/email/private_link_volunteer.txt$"))
    assert "The earlier version is back" in admin.inner_text("#flash")
    assert services.letters.private_link(TokenPurpose.VOLUNTEER_LINK, amina, "s", "k2").subject != letter.subject
    pages.check(admin, "content-email-history")

    # A coordinator who is not an admin may not edit.
    lead = sign_in(browser, base, "lead@nhs.example")
    assert not nav_has(lead, "Pages and emails")
    answer = lead.goto(base + "/coordinator/content/faq")
    assert answer is not None and answer.status == 403

    assert audit_actions(services).count("content.save") == 4
    assert audit_actions(services).count("content.revert") == 1
    admin.goto(base + "/coordinator/audit")
    assert "Edited the programme's text" in admin.inner_text("main")
    other.shutdown()
    print("axe findings (none may be serious or critical):", pages.minor or "none")
    assert not pages.problems, "\n".join(pages.problems)


def test_an_admin_adds_relabels_reorders_and_retires_a_code(
    browser: Any, live_server: str, services: Services, screenshots: Path, axe_source: str
) -> None:
    base = live_server
    pages = Pages(screenshots, axe_source, base)
    coordinators.create_coordinator(
        services.uow(), "admin@nhs.example", PASSWORD, ["tower_hamlets"], services.clock, admin=True
    )
    code = f"peer_support_{uuid.uuid4().hex[:6]}"
    admin = sign_in(browser, base, "admin@nhs.example")
    admin.goto(base + "/coordinator/vocabularies")
    pages.check(admin, "vocabularies")
    topics = admin.locator("section", has=admin.locator("h2#v-topics"))
    submit(admin, topics.get_by_role("button", name="Add to topics"))  # nothing typed: it says what is needed
    assert admin.locator("#error-summary").is_visible()
    pages.check(admin, "vocabularies-errors")

    topics = admin.locator("section", has=admin.locator("h2#v-topics"))
    topics.locator("#f-topics-code").fill(code)
    topics.locator("#f-topics-label").fill("Peer support")
    topics.get_by_role("button", name="Add to topics").click()
    admin.wait_for_url(re.compile(r"/coordinator/vocabularies#v-topics$"))
    assert "Saved: forms show it now." in admin.inner_text("#flash")

    def topic_codes() -> list[str]:
        return [t.code for t in queries.vocabulary_terms(services.uow())["topics"]]

    assert topic_codes()[-1] == code
    admin.fill(f"#l-topics-{code}", "Peer support and mentoring")
    submit(admin, admin.get_by_role("button", name=f"Save the words for {code}"))
    submit(admin, admin.get_by_role("button", name=re.compile(rf"^Up\W*{code}$")))
    assert topic_codes()[-2] == code
    visitor = browser.new_context(viewport=PHONE).new_page()
    visitor.goto(base + "/volunteer/sign-up")
    assert "Peer support and mentoring" in visitor.inner_text("main")

    submit(admin, admin.get_by_role("button", name=re.compile(rf"^Retire\W*{code}$")))
    assert "Retired" in admin.inner_text("#flash")
    pages.check(admin, "vocabularies-retired")
    visitor.goto(base + "/volunteer/sign-up")
    assert "Peer support and mentoring" not in visitor.inner_text("main")
    actions = audit_actions(services)
    assert actions.count("vocabulary.set_term") == 3 and actions.count("vocabulary.move_term") == 1
    print("axe findings (none may be serious or critical):", pages.minor or "none")
    assert not pages.problems, "\n".join(pages.problems)
