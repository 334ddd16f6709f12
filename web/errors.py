"""Every failure as JSON, mapped from one exception family in one place."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from matcher import errors
from web.schemas import ErrorOut

log = logging.getLogger(__name__)

STATUS_OF: dict[type[errors.QimatchError], int] = {
    errors.Unauthorised: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Invalid: 422,
    errors.Unavailable: 503,
}
RETRY_AFTER_SECONDS = "30"  # a database restart or a broker failover is over in well under a minute


def status_of(error: errors.QimatchError) -> int:
    return next((STATUS_OF[k] for k in type(error).__mro__ if k in STATUS_OF), 400)


def is_api(path: str) -> bool:
    """The JSON side of the site; every other address is a page and fails as one."""
    return path.startswith(("/api/", "/healthz", "/metrics")) or path == "/api"


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested errors as {"availability.0.end": ["..."]}: each names its field."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            # "_schema" is an error about the item (or the body) itself.
            name = (prefix.rstrip(".") or "body") if key == "_schema" else f"{prefix}{key}"
            if isinstance(value, dict):
                out.update(flatten(value, f"{name}."))
            else:
                out.setdefault(name, []).extend(str(v) for v in value)
    return out


class QimatchApi(Api):
    # The body every failure has (flask-smorest's default names fields we never send).
    ERROR_SCHEMA = ErrorOut

    def handle_http_exception(self, error: HTTPException) -> ResponseReturnValue:  # type: ignore[override]
        if not is_api(request.path):
            # An unknown address outside the API (or a failure no page blueprint caught): a page.
            from web.pages.common import http_error_page

            return http_error_page(error)
        data = getattr(error, "data", None) or {}
        code = error.code or 500
        if code == 422 and "messages" in data:
            fields: dict[str, list[str]] = {}
            for location_errors in data["messages"].values():  # {"json": {...}, "query": {...}}
                fields.update(flatten(location_errors))
            return jsonify(message="Invalid input.", errors=fields), 422
        if code == 400 and "messages" in data:
            return jsonify(message="Malformed JSON: the body could not be parsed."), 400
        if code >= 500:
            log.exception("server error")
        message = data.get("message") or error.description or error.name
        response = jsonify(message=message)
        # Werkzeug's own headers too: a 405 keeps its Allow, as HTTP requires.
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return response, code, {**headers, **dict(data.get("headers", {}))}


def register(app: Flask) -> None:
    @app.errorhandler(errors.QimatchError)
    def _domain_error(error: errors.QimatchError) -> ResponseReturnValue:
        status = status_of(error)
        if isinstance(error, errors.Invalid):
            return jsonify(message="Invalid input.", errors=error.errors), status
        if isinstance(error, errors.Duplicate):
            # Named the way a 422 names fields, so a client can point at the one that repeats.
            return jsonify(message=error.message, errors={error.field: [error.message]}), status
        if isinstance(error, errors.Unavailable):
            # Never a bare 500: a sentence, and when to try again.
            return jsonify(message=error.message), status, {"Retry-After": RETRY_AFTER_SECONDS}
        return jsonify(message=error.message), status

    @app.before_request
    def _json_only() -> ResponseReturnValue | None:
        # A body the API cannot read is refused, not taken as an empty update (a PATCH
        # with text/plain once recorded nothing and answered 200).
        if is_api(request.path) and request.method in ("POST", "PUT", "PATCH") and _has_body() and not request.is_json:
            return jsonify(message="Send the body as JSON, with Content-Type: application/json."), 415
        return None


def _has_body() -> bool:
    return bool(request.content_length) or request.headers.get("Transfer-Encoding", "").lower() == "chunked"
