"""The intake ceiling: a bare Flask JSON endpoint at the API's path, nothing behind it.

``python -m benchmarks.pipeline`` serves this under the same gunicorn command as
``qimatch web`` and posts the same volunteers to it with the same client, so the
ratio of the two rates is what the app's validation, database and broker cost.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/api/v1/volunteers")
def register() -> Any:
    # Parse the body as the real endpoint must, and answer with a receipt of the same shape.
    offer = request.get_json()
    if not isinstance(offer, dict):
        return jsonify(message="not an object"), 400
    return jsonify(id=uuid.uuid4().hex, status="active"), 201


@app.get("/healthz")
def health() -> Any:
    return jsonify(status="ok")
