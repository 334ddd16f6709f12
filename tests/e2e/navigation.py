"""Following a link in the NHS.UK header's navigation as a person does.

nhsuk-frontend's header shows as many links as fit on one line and moves the rest under a
"More" button (coordinators have more than fit); a person opens it to reach those.
"""

from __future__ import annotations

from typing import Any


def follow_nav(page: Any, name: str) -> None:
    nav = page.locator("nav.nhsuk-header__navigation")
    link = nav.get_by_role("link", name=name, exact=True)
    if link.count() == 0 or not link.first.is_visible():
        page.locator("#toggle-menu").click()  # "More"
        link = nav.get_by_role("link", name=name, exact=True)
    link.first.click()


def nav_has(page: Any, name: str) -> bool:
    # Links moved under "More" are in the page, hidden until it opens.
    nav = page.locator("nav.nhsuk-header__navigation")
    return nav.get_by_role("link", name=name, exact=True, include_hidden=True).count() > 0  # type: ignore[no-any-return]
