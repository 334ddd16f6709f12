"""Rate limits on what anyone may submit without an account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def submissions(view: Callable[..., Any]) -> Callable[..., Any]:
    # Only submissions are limited: reading needs a coordinator anyway.
    return limiter.limit(lambda: __import__("flask").current_app.config["SUBMISSION_RATE_LIMIT"], methods=["POST"])(
        view
    )
