"""Health for orchestrators: ``/healthz/live`` (the process answers), ``/healthz/ready``
(the database, the broker and a worker on each queue), and ``/healthz`` as before (the database).

Readiness reads the canaries' heartbeats (matcher.adapters.operations): a worker that is
alive but no longer consuming (celery#8030) stops completing them, so readiness fails
QIMATCH_HEARTBEAT_MINUTES later. The answers hold check names and ages only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import text

from matcher.adapters import operations
from web.api.access import public
from web.context import services
from workers.schedule import QUEUES

blp = Blueprint("health", __name__, description="Health for orchestrators and monitors (outside /api/v1)")


class HealthOut(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "failing"]})
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "database, broker and worker:<queue>: 'ok' or 'failing: <why>'"},
    )


@blp.route("/healthz", methods=["GET"])
@public
@blp.response(200, HealthOut)
def health() -> Any:
    """The database answers (kept as it was)."""
    with services().engine.connect() as conn:  # type: ignore[union-attr]
        conn.execute(text("select 1"))
    return {"status": "ok"}


@blp.route("/healthz/live", methods=["GET"])
@public
@blp.response(200, HealthOut)
def live() -> Any:
    """The process answers (liveness)."""
    return {"status": "ok"}


@blp.route("/healthz/ready", methods=["GET"])
@public
@blp.response(200, HealthOut)
@blp.alt_response(503, schema=HealthOut, description="A check fails: checks says which")
def ready() -> Any:
    """The database, the broker, and a worker consuming each queue (a canary within QIMATCH_HEARTBEAT_MINUTES)."""
    checks = {"database": _database(), "broker": _broker()}
    if checks["database"] == "ok":
        checks.update(_workers())
    else:
        checks.update({f"worker:{queue}": "not checked: no database" for queue in QUEUES})
    healthy = all(value == "ok" for value in checks.values())
    return {"status": "ok" if healthy else "failing", "checks": checks}, 200 if healthy else 503


def _database() -> str:
    try:
        with services().engine.connect() as conn:  # type: ignore[union-attr]
            conn.execute(text("select 1"))
    except Exception as e:  # noqa: BLE001 - the answer is the check's result
        return f"failing: {type(e).__name__}"
    return "ok"


def _broker() -> str:
    from workers.app import celery_app

    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as e:  # noqa: BLE001
        return f"failing: {type(e).__name__}"
    return "ok"


def _workers() -> dict[str, str]:
    s = services()
    assert s.engine is not None
    now = s.clock.now()
    limit = timedelta(minutes=s.settings.heartbeat_minutes)
    beats = operations.last_beats(s.engine)
    found: dict[str, str] = {}
    for queue in QUEUES:
        at = beats.get(f"queue:{queue}")
        if at is None:
            found[f"worker:{queue}"] = "failing: no canary has completed on this queue yet"
        elif now - at > limit:
            found[f"worker:{queue}"] = f"failing: last canary completed {int((now - at).total_seconds())}s ago"
        else:
            found[f"worker:{queue}"] = "ok"
    return found
