"""Where each page's editable text comes from: the newest saved version, else the shipped file.

Read from the database on every request (one indexed row), so an edit shows at once in
every web process, with no restart and no cache to expire.
"""

from __future__ import annotations

from pathlib import Path

from matcher.content import EMAIL_PREFIX, SHIPPED_EMAILS
from matcher.services import queries
from web.context import services

CONTENT = Path(__file__).resolve().parent.parent / "content"
SHIPPED_PAGES = {"faq": "faq.md", "home.intro": "home_intro.md", "home.more": "home_more.md"}


def shipped(key: str) -> str:
    if key.startswith(EMAIL_PREFIX):
        return (SHIPPED_EMAILS / key.removeprefix(EMAIL_PREFIX)).read_text(encoding="utf-8")
    if key == "faq":
        # Before the content page, the programme replaced <data dir>/content/faq.md: it still counts.
        legacy = services().settings.data_dir / "content" / "faq.md"
        if legacy.is_file():
            return legacy.read_text(encoding="utf-8")
    return (CONTENT / SHIPPED_PAGES[key]).read_text(encoding="utf-8")


def source(key: str) -> str:
    saved = queries.content_in_force(services().uow(), key)
    return shipped(key) if saved is None else saved
