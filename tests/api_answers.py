"""Every answer the API gives during a test run, held against the OpenAPI document at the end.

Flask's ``request_finished`` signal reaches every app the tests make (the fast tier's,
the integration tier's, the browser tests' live server), so whatever a test provokes
(a 409 in a race, a 503 in an outage, a 429 at a rate limit) is checked too: at the end
of the session each (operation, status) seen must be in the document. A status the app
gives that the document does not list fails the run, naming the operation.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from typing import Any

from flask import Flask, request, request_finished

METHODS = ("get", "put", "post", "patch", "delete")
# Answers no single operation documents: a method the path lacks (with its Allow header).
NOT_PER_OPERATION = {405}

_lock = threading.Lock()
seen: dict[tuple[str, str], set[int]] = defaultdict(set)
documented: dict[tuple[str, str], set[int]] = {}


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _note(sender: Flask, response: Any, **_: Any) -> None:
    rule = request.url_rule
    if rule is None or not rule.rule.startswith("/api/v1"):
        return
    with _lock:
        if not documented:
            _read_document(sender)
        seen[(request.method.lower(), openapi_path(rule.rule))].add(response.status_code)


def _read_document(app: Flask) -> None:
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    for path, item in api.spec.to_dict()["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                documented[(method, path)] = {int(c) for c in operation["responses"] if c != "default"}


def undocumented() -> list[str]:
    with _lock:
        return [
            f"{method.upper()} {path} answered {status}, which the OpenAPI document does not list"
            for (method, path), statuses in sorted(seen.items())
            if (method, path) in documented
            for status in sorted(statuses - documented[(method, path)] - NOT_PER_OPERATION)
        ]


def start() -> None:
    request_finished.connect(_note)
