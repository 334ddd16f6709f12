"""The access log holds paths only: no coordinator search terms, no link secrets.

Found by a security review: gunicorn's access log held the coordinator search ``q=``
(names, email addresses), and link secrets were redacted only in werkzeug's logger.
This runs ``qimatch web`` (real gunicorn) with its access log switched on the way an
operator would (``GUNICORN_CMD_ARGS``) and reads what it wrote.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from matcher.bootstrap import Services
from matcher.domain import TokenPurpose
from matcher.services import intake, links
from tests import factories
from tests.integration.conftest import ROOT, eventually
from tests.real_parts import free_port

pytestmark = pytest.mark.integration

SEARCHED = "winifred.oddbody@example.org"


def _get(url: str, **headers: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as answer:
        return int(answer.code)


def _up(url: str) -> bool:
    try:
        return _get(url + "/healthz") == 200
    except OSError:
        return False


def test_gunicorns_access_log_holds_no_search_terms_and_no_link_secrets(
    services: Services, clean: None, stack_env: dict[str, str], tmp_path: Path
) -> None:
    volunteer = intake.register_volunteer(
        services.uow(), factories.offer(name="Winifred Oddbody", email=SEARCHED), services.clock
    )
    request = intake.submit_request(services.uow(), factories.team_request(), services.clock)
    sign_in = links.issue(services.uow(), TokenPurpose.VOLUNTEER_LINK, volunteer.id, services.clock)
    status = links.issue(services.uow(), TokenPurpose.REQUEST_STATUS, request.id, services.clock)
    log = tmp_path / "access.log"
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "web.cli", "web", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env={**os.environ, **stack_env, "GUNICORN_CMD_ARGS": f"--access-logfile {log}"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: _up(base), seconds=60)
        search = urllib.parse.urlencode({"q": SEARCHED, "area": "tower_hamlets"})
        _get(f"{base}/coordinator/volunteers?{search}")
        _get(f"{base}/api/v1/volunteers?q=Oddbody")
        assert _get(f"{base}/v/{sign_in}") == 200
        assert _get(f"{base}/team/status/{status}") == 200
        # A page's address comes back as the next request's referer.
        _get(f"{base}/faq", Referer=f"{base}/coordinator/volunteers?{search}")
        _get(f"{base}/faq", Referer=f"{base}/v/{sign_in}")
        eventually(lambda: log.exists() and log.read_text().count("/faq") == 2, seconds=20)
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)

    written = log.read_text()
    assert "GET /coordinator/volunteers?[redacted]" in written  # the log is written, with the paths
    assert "GET /v/[redacted]" in written and "GET /team/status/[redacted]" in written
    for secret in (SEARCHED, urllib.parse.quote(SEARCHED), "oddbody", "winifred", sign_in, status):
        assert secret.lower() not in written.lower(), f"{secret!r} is in the access log"
