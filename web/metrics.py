"""``/metrics`` for Prometheus: intake counted here, tasks counted by the workers, and the
backlogs (outbox, emails, queues, requests waiting, approvals) read when scraped.

Who may read it: with QIMATCH_METRICS_TOKEN set, whoever sends it as a bearer token; without
it, only this machine (127.0.0.1, ::1), as a scraper on the host or a sidecar would. Behind
a proxy (QIMATCH_PROXY_HOPS) the address is the client's, so a remote scrape needs the token.
Every figure is a count or an age: labels are codes and task names, never anything personal.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, request
from flask_smorest import Api, Blueprint
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from matcher.adapters import operations
from web.context import services
from workers.schedule import QUEUES

blp = Blueprint("metrics", __name__, description="Prometheus metrics (outside /api/v1)")

SUBMISSIONS = Counter(
    "qimatch_submissions_total", "Offers and requests submitted, by kind and result", ["kind", "result"]
)
# The submission endpoints, API and pages: (method, path) -> kind.
INTAKE = {
    ("POST", "/api/v1/volunteers"): "offer",
    ("POST", "/volunteer/sign-up"): "offer",
    ("POST", "/api/v1/team-requests"): "request",
    ("POST", "/team/request"): "request",
}
LOCAL = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def register(app: Flask, api: Api) -> None:
    api.spec.components.security_scheme(
        "metricsToken",
        {"type": "http", "scheme": "bearer", "description": "QIMATCH_METRICS_TOKEN; unset, only this machine may ask."},
    )
    api.register_blueprint(blp)
    app.after_request(_count_intake)


def _count_intake(response: Response) -> Response:
    kind = INTAKE.get((request.method, request.path))
    if kind:
        SUBMISSIONS.labels(kind, _result(response.status_code)).inc()
    return response


def _result(status: int) -> str:
    if status in (201, 303):
        return "accepted"
    return {400: "invalid", 422: "invalid", 409: "conflict", 429: "rate_limited"}.get(
        status, "error" if status >= 500 else str(status)
    )


@blp.route("/metrics", methods=["GET"])
@blp.response(200, {"type": "string"}, content_type=CONTENT_TYPE_LATEST, description="Prometheus text format")
@blp.alt_response(401, description="QIMATCH_METRICS_TOKEN is set and the bearer token is missing or wrong")
@blp.alt_response(403, description="No token is set and the request does not come from this machine")
@blp.doc(security=[{}, {"metricsToken": []}])
def metrics() -> Any:
    """Prometheus metrics: bearer QIMATCH_METRICS_TOKEN when set, else this machine only."""
    token = services().settings.metrics_token
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            abort(401, description="The metrics want QIMATCH_METRICS_TOKEN as a bearer token.")
    elif request.remote_addr not in LOCAL:
        abort(403, description="Without QIMATCH_METRICS_TOKEN the metrics answer only this machine.")
    registry = _registry()
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        # Every process's counters (web, workers, pool children), summed from their files.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):  # this process's own counters
            registry.register(collector)
    registry.register(Backlogs())
    return registry


class Backlogs(Collector):
    """Figures read from the database and the broker at scrape time (the same for every web process)."""

    def collect(self) -> Iterator[Any]:
        s = services()
        assert s.engine is not None
        now = s.clock.now()
        f = operations.figures(s.engine, now)
        yield _gauge("qimatch_outbox_unpublished", "Outbox events not yet published", f.outbox_unpublished)
        yield _gauge(
            "qimatch_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox event", f.outbox_oldest_seconds
        )
        # A gauge, not a counter: a failed or possibly-sent email a coordinator resends is owed again.
        emails = GaugeMetricFamily(
            "qimatch_emails", "Emails by their state now: sent, failed, possibly_sent", labels=["outcome"]
        )
        for outcome, count in f.emails.items():
            emails.add_metric([outcome], count)
        yield emails
        yield _gauge(
            "qimatch_email_oldest_unsent_age_seconds",
            "Age of the oldest email owed or claimed but not yet sent",
            f.oldest_unsent_email_seconds,
        )
        yield _gauge("qimatch_requests_waiting", "Open requests with no suggestion yet", f.requests_waiting)
        yield _gauge(
            "qimatch_requests_waiting_oldest_age_seconds",
            "Age of the oldest open request with no suggestion yet",
            f.requests_waiting_oldest_seconds,
        )
        yield _gauge(
            "qimatch_approvals_waiting", "Suggestions waiting for a coordinator's decision", f.approvals_waiting
        )
        beats = operations.last_beats(s.engine)
        canary = GaugeMetricFamily(
            "qimatch_canary_age_seconds", "Seconds since each queue's canary task last completed", labels=["queue"]
        )
        for queue in QUEUES:
            at = beats.get(f"queue:{queue}")
            canary.add_metric([queue], (now - at).total_seconds() if at else float("inf"))
        yield canary
        depth = GaugeMetricFamily("qimatch_queue_depth", "Messages waiting in each queue", labels=["queue"])
        for queue, count in _queue_depths().items():
            depth.add_metric([queue], count)
        yield depth


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _queue_depths() -> dict[str, int]:
    from workers.app import celery_app

    found: dict[str, int] = {}
    try:
        with celery_app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
            channel = conn.default_channel
            for queue in QUEUES:
                # Declared as the workers declare them (a passive declare fails on Redis when this
                # process has not declared the queue); declaring an existing queue changes nothing.
                found[queue] = channel.queue_declare(queue=queue, durable=True, auto_delete=False).message_count
    except Exception:  # noqa: BLE001 - a broker that is down leaves the depth out; readiness reports it
        return {}
    return found
