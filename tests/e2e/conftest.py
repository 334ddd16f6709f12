"""Browser tests: the real app served on a local port, driven by Debian's Chromium.

Reuses the integration stack (PostgreSQL, Redis, a Celery worker process, the
aiosmtpd SMTP server). Needs the ``playwright`` Python package (its driver only:
no browser download) and ``/usr/bin/chromium`` (apt-get install chromium), plus
axe-core from the npm registry (``npm ci --prefix tests/e2e``).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.integration.conftest import (  # noqa: F401 - fixtures, by name
    clean,
    notify,
    pg_url,
    processes,
    redis_url,
    services,
    smtp,
    stack_env,
)
from tests.real_parts import free_port
from web.app import create_app

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("QIMATCH_CHROMIUM", "/usr/bin/chromium")
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package (pip install playwright; its browsers are not needed)"
    if not Path(CHROMIUM).exists():
        return f"Chromium at {CHROMIUM} (apt-get install chromium)"
    if not AXE.exists():
        return "axe-core (npm ci --prefix tests/e2e)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing:
        # A missing part is a failure that says what to install, never a quiet skip.
        pytest.exit(f"browser tests need {missing}", returncode=3)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_server(services: Any, clean: None) -> Iterator[str]:  # noqa: F811
    # As deployed: anonymous offers wait for their address to be confirmed (the integration
    # tier's own setting turns that off for tests not about it).
    confirming = replace(services, settings=replace(services.settings, confirm_emails=True))
    app = create_app(services_=confirming, test_config={"SUBMISSION_RATE_LIMIT": "10000 per minute"})
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = Path(os.environ.get("QIMATCH_SCREENSHOTS") or HERE / "screenshots")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def axe_source() -> str:
    return AXE.read_text(encoding="utf-8")
