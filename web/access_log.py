"""What a log line about a request may hold: the path, never its query string or a link secret.

Coordinators' searches carry names and email addresses in ``q=``; private links carry
their secret in the path. Both are redacted from every logger that writes request lines
(werkzeug's, gunicorn's access and error logs, Flask's own) by one function, ``redact``.
What a proxy in front of the service logs is the proxy's business: the service keeps
secrets out of the URLs it makes where it can (docs/privacy-logs.md says where it cannot).
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
# Pages whose path holds a link's secret: a volunteer's sign-in link, a team's status link,
# the "keep my details" link.
SECRET_PATHS = re.compile(r"(/(?:v|team/status|keep|coordinator/password)/)[^\s/?#\"]+")
# Any other path segment as long as a secret (secrets.token_urlsafe(32): 43 characters;
# identifiers are 32 hex digits), so a link added later is covered before anyone remembers it.
LONG_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_\-]{40,}(?=[/?#\s\"]|$)")
# A query string after a path or URL: everything from "?" to the end of the URL.
QUERY = re.compile(r"(/[^\s\"?]*)\?[^\s\"]*")


def redact(line: str) -> str:
    """``line`` with query strings and link secrets replaced by ``[redacted]``."""
    if "?" in line:
        line = QUERY.sub(rf"\1?{REDACTED}", line)
    if "/" in line:
        line = SECRET_PATHS.sub(rf"\1{REDACTED}", line)
        line = LONG_SEGMENT.sub(REDACTED, line)
    return line


class RedactRequests(logging.Filter):
    """Rewrites each record's message through ``redact`` before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's to report, not ours
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


# The loggers that write request lines or paths: werkzeug's server (``qimatch up``), gunicorn's
# (``qimatch web``), and Flask's "Exception on <path>".
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


def redact_request_logs(*extra: logging.Logger) -> None:
    """Put the filter on every logger that writes request lines (once each)."""
    for logger in [*(logging.getLogger(name) for name in REQUEST_LOGGERS), *extra]:
        if not any(isinstance(f, RedactRequests) for f in logger.filters):
            logger.addFilter(RedactRequests())
