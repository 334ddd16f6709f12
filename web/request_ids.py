"""A request id for every web request: on its log lines, in X-Request-ID, and in the
headers of every task message it publishes (workers.logging_setup), so one grep follows it.

An incoming X-Request-ID from a proxy is kept when it looks like an id (letters, digits,
dashes; no room for personal data or log injection); otherwise a fresh one is made.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from matcher.adapters import log_lines
from web.access_log import redact

log = logging.getLogger("qimatch.web")
LOOKS_LIKE_AN_ID = re.compile(r"[A-Za-z0-9\-]{8,64}")


def register(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_forget)


def _start() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if LOOKS_LIKE_AN_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.monotonic()
    g.log_token = log_lines.bind(request_id=g.request_id)


def _finish(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers["X-Request-ID"] = request_id
        took = (time.monotonic() - g.get("request_started", time.monotonic())) * 1000
        # The path only (redacted: no query string, no link secret), never a body.
        log.info("%s %s %s %.0fms", request.method, redact(request.path), response.status_code, took)
    return response


def _forget(_: BaseException | None) -> None:
    token = g.pop("log_token", None)
    if token is not None:
        log_lines.unbind(token)
