"""gunicorn's logger for ``qimatch web``: access lines without query strings or link secrets.

Given to gunicorn as ``--logger-class``. Every value an access-log format can name is
redacted before formatting (the request line, the path, the referer, any header or
environ variable), the query string and credentials headers whole, so an operator's own
``--access-logformat`` cannot bring them back; the error log gets the same filter.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from web.access_log import REDACTED, RedactRequests, redact

# Atoms that are nothing but a query string or a credential: never logged at all.
WITHHELD = {
    "q",
    "{query_string}e",
    "{cookie}i",
    "{http_cookie}e",
    "{authorization}i",
    "{http_authorization}e",
    "{set-cookie}o",
}


class RedactingLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactRequests) for f in log.filters):
                log.addFilter(RedactRequests())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if key in WITHHELD:
                atoms[key] = REDACTED if value else "-"
            elif isinstance(value, str):
                atoms[key] = redact(value)
        return dict(atoms)
