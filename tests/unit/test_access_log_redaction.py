"""Request lines in any log: paths kept, query strings and link secrets redacted."""

from __future__ import annotations

import contextlib
import logging
import threading
import urllib.request

import pytest
from flask import Flask
from werkzeug.serving import make_server

from web.access_log import redact

SECRET = "uFE30t-YV33SMft5iEtJ8nxdT5g2EyC_2y-zIRXY0Ws"  # what secrets.token_urlsafe(32) looks like


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        ('"GET /coordinator/volunteers?q=ann%40example.org&area=luton HTTP/1.1" 200',
         '"GET /coordinator/volunteers?[redacted] HTTP/1.1" 200'),
        (f'"GET /v/{SECRET} HTTP/1.1" 200 "-"', '"GET /v/[redacted] HTTP/1.1" 200 "-"'),
        (f'"POST /team/status/{SECRET}?x=1 HTTP/1.1"', '"POST /team/status/[redacted]?[redacted] HTTP/1.1"'),
        (f'"GET /keep/{SECRET} HTTP/1.1"', '"GET /keep/[redacted] HTTP/1.1"'),
        (f'"GET /some/new-link/{SECRET} HTTP/1.1"', '"GET /some/new-link/[redacted] HTTP/1.1"'),
        ('"http://qimatch.test/coordinator/requests?q=Ward+5"', '"http://qimatch.test/coordinator/requests?[redacted]"'),
        ("Exception on /v/short-but-secret [POST]", "Exception on /v/[redacted] [POST]"),
        # Identifiers (32 hex digits) and ordinary words stay readable.
        ('"GET /coordinator/matches/0123456789abcdef0123456789abcdef HTTP/1.1"',
         '"GET /coordinator/matches/0123456789abcdef0123456789abcdef HTTP/1.1"'),
        ("Why? Because.", "Why? Because."),
    ],
)  # fmt: skip
def test_redact_keeps_paths_and_drops_queries_and_secrets(line: str, logged: str) -> None:
    assert redact(line) == logged


def test_werkzeugs_request_log_holds_no_search_terms_or_link_secrets(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    # What ``qimatch up`` serves with: werkzeug's own server, logging each request line.
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            for path in ("/coordinator/volunteers?q=ann.example%40example.org", f"/v/{SECRET}", "/faq?q=Ann"):
                # A 404 for a link that does not exist is still a request line.
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(base + path, timeout=10).close()
    finally:
        server.shutdown()
    lines = "\n".join(r.getMessage() for r in caplog.records if r.name == "werkzeug")
    assert "/coordinator/volunteers?[redacted]" in lines and "/v/[redacted]" in lines
    assert "ann" not in lines.lower() and SECRET not in lines


def test_flasks_own_error_log_names_no_link_secret(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        app.logger.error("Exception on %s [%s]", f"/v/{SECRET}", "POST")
    assert SECRET not in caplog.text and "/v/[redacted]" in caplog.text


def test_the_link_pages_button_sends_the_secret_in_the_body_not_the_address(app: Flask) -> None:
    """A proxy logs every request's address: the email's link necessarily carries the secret
    once (the GET); the button's POST does not carry it again, and the redirect after it is
    to a path without it."""
    from matcher.domain import TokenPurpose
    from matcher.services import intake, links
    from tests import factories
    from tests.pages_support import CSRF

    s = app.extensions["qimatch"]
    volunteer = intake.register_volunteer(s.uow(), factories.offer(), s.clock)
    secret = links.issue(s.uow(), TokenPurpose.VOLUNTEER_LINK, volunteer.id, s.clock)
    client = app.test_client()
    page = client.get(f"/v/{secret}").get_data(as_text=True)
    form = page[page.index("<form") : page.index("</form>")]
    assert 'action="/v"' in form and f'name="secret" value="{secret}"' in form
    found = CSRF.search(page)
    assert found is not None

    opened = client.post("/v", data={"csrf_token": found.group(1), "secret": secret})
    assert opened.status_code == 303 and opened.headers["Location"] == "/me"
    assert client.get("/me").status_code == 200
