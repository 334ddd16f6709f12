from __future__ import annotations

from typing import Any

from flask import g

from matcher.services.queries import Page


def paged(page: Page) -> list[Any]:
    # The total travels in headers so the body stays the plain list clients expect.
    g.page_headers = {"X-Total-Count": str(page.total), "X-Page": str(page.page), "X-Per-Page": str(page.per_page)}
    return page.items


# How a paged list's headers read in the OpenAPI document.
PAGE_HEADERS = {
    "X-Total-Count": {"description": "How many there are in all.", "schema": {"type": "integer"}},
    "X-Page": {"description": "This page's number, from 1.", "schema": {"type": "integer"}},
    "X-Per-Page": {"description": "At most this many on a page.", "schema": {"type": "integer"}},
}
