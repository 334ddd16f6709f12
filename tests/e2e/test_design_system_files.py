"""The NHS.UK design system's files the pages load are the npm package's own.

After ``npm ci --prefix web/frontend`` (``.ci/run`` does it), each file the running service
serves from ``/static/nhsuk`` (and ``/assets``, where nhsuk-frontend's CSS looks for icons) is
byte-equal to the pinned nhsuk-frontend's ``dist`` file, except that the CSS lacks exactly its
two @font-face rules for assets.nhs.uk (``web/frontend/copy_dist.py`` says why). A renewed npm
version without a renewed copy fails here, and so does a hand-edited copy.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "web" / "frontend" / "node_modules" / "nhsuk-frontend"
DIST = PACKAGE / "dist" / "nhsuk"
REMOTE_FONT = re.compile(rb"@font-face\{[^}]*https://assets\.nhs\.uk/fonts/[^}]*\}")


def served(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200, url
        return answer.read()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def dist() -> Path:
    if not DIST.exists():
        # A missing part is a failure that says what to do, never a quiet skip.
        pytest.exit("the design system test needs nhsuk-frontend from npm: npm ci --prefix web/frontend", returncode=3)
    return DIST


def test_the_pinned_version_is_the_one_copied_and_the_one_the_jinja_port_matches(dist: Path) -> None:
    pinned = json.loads((ROOT / "web" / "frontend" / "package.json").read_text())["dependencies"]["nhsuk-frontend"]
    installed = json.loads((PACKAGE / "package.json").read_text())["version"]
    copied = (ROOT / "web" / "static" / "nhsuk" / "VERSION").read_text().strip()
    assert pinned == installed == copied == "10.6.1"
    # nhsuk-frontend-jinja's README: 0.10.2 is the port of NHS.UK frontend 10.6.1.
    assert 'nhsuk-frontend-jinja==0.10.2' in (ROOT / "pyproject.toml").read_text()


def test_the_served_js_and_icons_are_the_packages_bytes(dist: Path, live_server: str) -> None:
    assert served(f"{live_server}/static/nhsuk/nhsuk-frontend.min.js") == (dist / "nhsuk-frontend.min.js").read_bytes()
    icons = sorted((ROOT / "web" / "static" / "nhsuk" / "assets" / "images").iterdir())
    assert len(icons) >= 5
    for icon in icons:
        package = (dist / "assets" / "images" / icon.name).read_bytes()
        assert served(f"{live_server}/static/nhsuk/assets/images/{icon.name}") == package, icon.name
        # where the CSS names them: url(/assets/images/…)
        assert served(f"{live_server}/assets/images/{icon.name}") == package, icon.name


def test_the_served_css_is_the_packages_less_only_its_remote_fonts(dist: Path, live_server: str) -> None:
    package = (dist / "nhsuk-frontend.min.css").read_bytes()
    fonts = REMOTE_FONT.findall(package)
    assert len(fonts) == 2  # Frutiger regular and bold, from assets.nhs.uk
    css = served(f"{live_server}/static/nhsuk/nhsuk-frontend.min.css")
    assert css == REMOTE_FONT.sub(b"", package)
    assert b"assets.nhs.uk" not in css and b"https://" not in css  # nothing from another origin
