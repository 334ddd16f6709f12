"""The programme's own words: the FAQ, the home page's text and the emails' wording.

Each piece of text is known by a key. Every edit is a new ``ContentVersion`` row,
never an update: the text in force is the newest row for its key, the history is
the rows themselves, and a revert is a new row carrying an older body. With no row
at all, the shipped text is in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

EMAIL_PREFIX = "email/"
SHIPPED_EMAILS = Path(__file__).resolve().parent / "templates" / "email"
# Markdown pages; the web layer knows where their shipped text lives.
PAGES = {
    "faq": "Questions and answers (the FAQ page)",
    "home.intro": "Home page: the opening paragraphs",
    "home.more": "Home page: what involvement means and how it works",
}
# A body longer than this is not wording any more; it keeps the table's rows small.
MAX_BODY = 100_000


@dataclass(eq=False)
class ContentVersion:
    """One saved version of one piece of text: what it said, who saved it, when."""

    key: str
    body: str
    by: str | None  # the coordinator's id
    at: datetime
    reverted_from: int | None = None  # the version this one brought back, if a revert
    id: int | None = None


def email_keys() -> list[str]:
    """Every email template the Letters adapter knows: "email/<name>.txt" and ".html"."""
    return sorted(f"{EMAIL_PREFIX}{p.name}" for p in SHIPPED_EMAILS.iterdir() if p.suffix in (".txt", ".html"))


def is_known(key: str) -> bool:
    return key in PAGES or key in email_keys()


def describe(key: str) -> str:
    if key in PAGES:
        return PAGES[key]
    name = key.removeprefix(EMAIL_PREFIX)
    kind = "plain text" if name.endswith(".txt") else "HTML"
    return f"Email: {name.rsplit('.', 1)[0].replace('_', ' ')} ({kind})"
