"""The Flask app factory: defaults, then environment (Settings), then test config."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, Response, abort, g, request
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix

from matcher.bootstrap import Services
from matcher.config import Settings
from web import errors, openapi
from web.context import set_codes_in_force
from web.limits import limiter


def create_app(
    settings: Settings | None = None, services_: Services | None = None, test_config: dict[str, Any] | None = None
) -> Flask:
    app = Flask(__name__)
    if services_ is None:
        from workers.wiring import wire

        services_ = wire(settings)
    settings = services_.settings
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=256 * 1024,
        SUBMISSION_RATE_LIMIT=settings.submission_rate_limit,
        SIGN_IN_RATE_LIMIT=settings.sign_in_rate_limit,
        SIGN_IN_ACCOUNT_RATE_LIMIT=settings.sign_in_account_rate_limit,
        REQUIRE_TOTP=settings.require_totp,
        RATELIMIT_STORAGE_URI=_rate_limit_storage(settings),
        RATELIMIT_HEADERS_ENABLED=True,
        # Redis down (the counters' shared store): count in this process's memory meanwhile,
        # with the same limits, rather than answer every submission and sign-in with a 500.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https"),
        # The cookie holds only a random session key and the CSRF token; the
        # session itself lives on the server and also ends after idle time.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        API_TITLE="qimatch",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        # No OPENAPI_REDOC/SWAGGER_UI settings: flask-smorest's pages load their scripts from a
        # CDN and start them inline. web.api.docs serves Swagger UI from the package instead.
    )
    app.config.update(test_config or {})
    app.extensions["qimatch"] = services_

    api = errors.QimatchApi(app, spec_kwargs={"extra_plugins": [openapi.SharedAnswers()]})
    api.spec.components.security_scheme(
        openapi.BEARER,
        {"type": "http", "scheme": "bearer", "description": "A coordinator's token from POST /api/v1/auth/token."},
    )
    api.spec.components.security_scheme(
        "notifyCallbackToken",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "QIMATCH_NOTIFY_CALLBACK_TOKEN, given to GOV.UK Notify as its callbacks' bearer token.",
        },
    )
    openapi.register_answers(api.spec, errors.QimatchApi.ERROR_SCHEMA)
    openapi.register_shapes(api.spec)
    api.ma_plugin.converter.add_attribute_function(openapi.text_rules)  # type: ignore[union-attr]
    errors.register(app)
    limiter.init_app(app)

    from web.api import (
        accounts,
        audit,
        calls,
        docs,
        feedback,
        matches,
        misc,
        notify,
        outreach,
        payments,
        sessions,
        team_chats,
        team_requests,
        volunteers,
    )

    for blueprint in (
        volunteers.blp, team_requests.blp, matches.blp, feedback.blp, sessions.blp, misc.blp, accounts.blp, audit.blp,
        outreach.blp, team_chats.blp, payments.blp, calls.blp, notify.blp,
    ):  # fmt: skip
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.bp)

    from web import pages

    pages.register(app)

    proxies = settings.proxy_hops
    if proxies:
        # Behind a reverse proxy: the client's address and scheme from its headers, so
        # rate limits count people, not the proxy, and https is recognised.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]

    from web import request_ids

    request_ids.register(app)
    app.before_request(_json_that_parses)
    app.before_request(set_codes_in_force)
    app.after_request(_headers)

    from web import health

    api.register_blueprint(health.blp)
    from web import metrics

    metrics.register(app, api)
    return app


def _json_that_parses() -> None:
    # Python's JSON parser raises ValueError for integers of thousands of digits and
    # RecursionError for deep nesting; either is the client's malformed body: 400, not 500.
    if request.is_json and request.content_length:
        try:
            request.get_json()
        except (ValueError, RecursionError):
            abort(400, description="Malformed JSON: the body could not be parsed.")
        except BadRequest:
            abort(400, description="Malformed JSON: the body could not be parsed.")


def _rate_limit_storage(settings: Settings) -> str:
    # Share counters between web processes when there is a Redis; else per process.
    if settings.broker_url.startswith("redis://"):
        return settings.broker_url
    return "memory://"


def _headers(response: Response) -> Response:
    from web.pages import security_headers

    for name, value in getattr(g, "page_headers", {}).items():
        response.headers[name] = value
    security_headers(response)
    if response.mimetype == "application/json":
        # API answers may carry personal details: never cache them.
        response.headers.setdefault("Cache-Control", "no-store")
    return response
