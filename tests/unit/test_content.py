"""Coordinators edit the programme's text: sanitised Markdown, sandboxed email templates
refused at save with their line, history and revert, and the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2.exceptions import SecurityError

from matcher import email_templates
from matcher.adapters.letters import TemplateLetters
from matcher.config import Settings
from matcher.domain import AuditAction, Coordinator, TokenPurpose
from matcher.errors import Conflict, Forbidden, Invalid, NotFound
from matcher.services import content, intake, queries, vocabularies
from tests import factories
from tests.fakes import FakeClock, FakeUnitOfWork
from web.pages.faq import render

ADMIN = Coordinator("admin@nhs.example", "x", ["newham"], admin=True, id="admin1")
LEAD = Coordinator("lead@nhs.example", "x", ["newham"], id="lead1")
KEY = "email/private_link_volunteer.txt"


# --- Markdown, sanitised ----------------------------------------------------------------------


def test_script_tags_and_javascript_links_never_reach_the_page() -> None:
    body, _ = render(
        "## Hello\n\n<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[click](javascript:alert(1)) [ok](https://nhs.example/) <a href='javascript:x'>raw</a>"
    )
    assert "<script" not in body and "<img" not in body and 'onerror="' not in body
    assert 'href="javascript' not in body and "<a href='javascript" not in body
    assert '<a href="https://nhs.example/">ok</a>' in body


def test_headings_keep_their_anchors_and_the_table_of_contents() -> None:
    body, toc = render("# Is it paid?\n\ntext\n\n## How is my information used and kept?\n\n### Detail\n")
    assert [(h.id, h.name) for h in toc] == [
        ("is-it-paid", "Is it paid?"),
        ("how-is-my-information-used-and-kept", "How is my information used and kept?"),
    ]
    assert '<h2 id="how-is-my-information-used-and-kept">' in body and '<h3 id="detail">' in body
    assert "<h1" not in body  # the page keeps its one title


# --- Email templates: sandboxed, checked at save ----------------------------------------------


def test_a_broken_template_is_refused_naming_its_line() -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    with pytest.raises(Invalid) as refused:
        content.save(uow, ADMIN, KEY, "Subject: Your link\n\nHello {{ first_name }\n", clock)
    assert refused.value.errors["body"][0].startswith("Line 3:")
    assert uow.content.rows == {} and uow.audit.rows == {}  # nothing half-stored


def test_a_name_the_letter_does_not_have_is_refused_at_save_not_at_send() -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    with pytest.raises(Invalid) as refused:
        content.save(uow, ADMIN, KEY, "Subject: Your link\n\nHello {{ first_name }}\n{{ password }}\n", clock)
    assert refused.value.errors["body"] == ["Line 4: this email has no “password” to show"]
    with pytest.raises(Invalid) as no_subject:
        content.save(uow, ADMIN, KEY, "Hello {{ first_name }}\n", clock)
    assert "Subject:" in no_subject.value.errors["body"][0]


def test_edited_templates_run_in_the_sandbox() -> None:
    with pytest.raises(Invalid) as refused:
        content.save(FakeUnitOfWork(), ADMIN, KEY, "Subject: x\n\n{{ first_name.__class__ }}\n", FakeClock())
    assert refused.value.errors["body"] == ["Line 3: “__class__” is not something an email can show"]
    env = email_templates.environment(None, html=False)
    with pytest.raises(SecurityError):
        env.from_string("{{ first_name.__class__.__mro__[1].__subclasses__() }}").render(first_name="Amina")


def letters_with_edits(tmp_path: Any, uow: FakeUnitOfWork, clock: FakeClock) -> TemplateLetters:
    settings = Settings.from_env({"QIMATCH_DATA_DIR": str(tmp_path), "QIMATCH_SECRET_KEY": "k"})
    return TemplateLetters(settings, clock=clock, edited=lambda name: queries.content_in_force(uow, f"email/{name}"))


def test_the_next_email_uses_the_saved_wording_and_a_revert_brings_the_old_back(tmp_path: Any) -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    letters = letters_with_edits(tmp_path, uow, clock)
    volunteer = intake.register_volunteer(uow, factories.offer(name="Amina Begum"), clock)
    shipped = letters.private_link(TokenPurpose.VOLUNTEER_LINK, volunteer, "s3cret", "k1")

    first = content.save(uow, ADMIN, KEY, "Subject: Your page, {{ first_name }}\n\nOpen {{ link }} today.\n", clock)
    edited = letters.private_link(TokenPurpose.VOLUNTEER_LINK, volunteer, "s3cret", "k2")
    assert edited.subject == "Your page, Amina" and edited.text.startswith("Open http")

    content.save(uow, ADMIN, KEY, "Subject: Second wording\n\n{{ link }}\n", clock)
    assert letters.private_link(TokenPurpose.VOLUNTEER_LINK, volunteer, "s", "k3").subject == "Second wording"

    assert first.id is not None
    content.revert(uow, ADMIN, KEY, first.id, clock)
    assert letters.private_link(TokenPurpose.VOLUNTEER_LINK, volunteer, "s", "k4").subject == "Your page, Amina"
    content.revert(uow, ADMIN, KEY, 0, clock)  # back to the text as shipped
    assert letters.private_link(TokenPurpose.VOLUNTEER_LINK, volunteer, "s", "k5").subject == shipped.subject

    history = queries.content_history(uow, KEY)
    assert [v.reverted_from for v in history.versions] == [0, first.id, None, None]  # newest first, all kept
    actions = [e.action for e in sorted(uow.audit.rows.values(), key=lambda e: e.id)]
    assert actions == [AuditAction.CONTENT_SAVED] * 2 + [AuditAction.CONTENT_REVERTED] * 2
    assert {e.subject_id for e in uow.audit.rows.values()} == {KEY}


def test_only_an_admin_edits_and_only_known_texts() -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    with pytest.raises(Forbidden):
        content.save(uow, LEAD, "faq", "## New", clock)
    with pytest.raises(NotFound):
        content.save(uow, ADMIN, "email/../../etc/passwd", "x", clock)
    with pytest.raises(NotFound):
        content.revert(uow, ADMIN, "faq", 12345, clock)
    content.save(uow, ADMIN, "faq", "## New question\r\n\r\nAnswer.", clock)
    assert queries.content_in_force(uow, "faq") == "## New question\n\nAnswer."
    assert queries.content_in_force(uow, "home.intro") is None  # never edited: the shipped text


# --- Vocabularies: reorder -----------------------------------------------------------------------


def test_a_code_moves_up_and_the_move_is_audited() -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    before = [t.code for t in queries.vocabulary_terms(uow)["areas"]]
    vocabularies.move_term(uow, ADMIN, "areas", before[1], -1, clock)
    after = [t.code for t in queries.vocabulary_terms(uow)["areas"]]
    assert after[:2] == [before[1], before[0]] and sorted(after) == sorted(before)
    vocabularies.move_term(uow, ADMIN, "areas", after[0], -1, clock)  # already first: nothing moves
    assert [t.code for t in queries.vocabulary_terms(uow)["areas"]] == after
    assert [e.action for e in uow.audit.rows.values()] == [AuditAction.TERM_MOVED]
    with pytest.raises(Forbidden):
        vocabularies.move_term(uow, LEAD, "areas", after[0], 1, clock)


def test_every_shipped_template_passes_the_check_so_it_can_be_saved_as_it_is() -> None:
    from matcher.content import SHIPPED_EMAILS, email_keys

    for key in email_keys():
        name = key.removeprefix("email/")
        assert email_templates.problems(name, (SHIPPED_EMAILS / name).read_text(encoding="utf-8")) == [], name
        assert email_templates.preview(name, (SHIPPED_EMAILS / name).read_text(encoding="utf-8"))


def test_a_save_over_someone_elses_newer_version_is_refused_in_words() -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    first = content.save(uow, ADMIN, "faq", "## Theirs", clock, based_on=0)  # both opened the shipped text
    with pytest.raises(Conflict) as lost:
        content.save(uow, ADMIN, "faq", "## Mine", clock, based_on=0)
    assert "someone saved a newer version" in lost.value.message
    assert queries.content_in_force(uow, "faq") == "## Theirs"  # their edit is not undone
    content.save(uow, ADMIN, "faq", "## Mine, having looked", clock, based_on=first.id)
    assert queries.content_in_force(uow, "faq") == "## Mine, having looked"
