"""Health, metrics and log lines on the fast tier: who may read /metrics, what readiness
says before any worker ran, the log lines' shape, and the quiet lines of ``qimatch up``."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from datetime import timedelta

import pytest
from flask import Flask

from matcher.adapters import log_lines, operations
from matcher.bootstrap import Services
from matcher.config import Settings
from tests import factories
from web import story
from web.app import create_app


def _with(services: Services, **settings: object) -> Flask:
    changed = dataclasses.replace(services, settings=dataclasses.replace(services.settings, **settings))
    return create_app(services_=changed, test_config={"TESTING": True, "SUBMISSION_RATE_LIMIT": "10000 per minute"})


def test_metrics_answer_this_machine_only_without_a_token(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert refused.status_code == 403 and "QIMATCH_METRICS_TOKEN" in refused.json["message"]


def test_metrics_want_the_bearer_token_when_one_is_set(services: Services) -> None:
    client = _with(services, metrics_token="s3cret-scrape").test_client()
    assert client.get("/metrics").status_code == 401  # even from this machine
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    got = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"}, environ_base=remote)
    assert got.status_code == 200 and b"qimatch_outbox_unpublished" in got.data


def test_metrics_count_intake_by_kind_and_result(app: Flask) -> None:
    client = app.test_client()

    def count(kind: str, result: str) -> float:
        text = client.get("/metrics").get_data(as_text=True)
        for line in text.splitlines():
            if line.startswith(f'qimatch_submissions_total{{kind="{kind}",result="{result}"}}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    accepted, invalid = count("request", "accepted"), count("request", "invalid")
    assert client.post("/api/v1/team-requests", json=factories.team_request()).status_code == 201
    assert client.post("/api/v1/team-requests", json={"team_name": ""}).status_code == 422
    assert count("request", "accepted") == accepted + 1 and count("request", "invalid") == invalid + 1
    text = client.get("/metrics").get_data(as_text=True)
    assert "qimatch_requests_waiting 1.0" in text  # no suggestion yet: no worker here


def test_ready_fails_until_each_queue_has_a_fresh_canary(services: Services) -> None:
    client = _with(services, heartbeat_minutes=5).test_client()
    assert client.get("/healthz/live").status_code == 200
    assert client.get("/healthz").json == {"status": "ok"}  # as before: the database
    answer = client.get("/healthz/ready")
    assert answer.status_code == 503 and answer.json["checks"]["database"] == "ok"
    assert "no canary" in answer.json["checks"]["worker:email"]
    assert services.engine is not None
    now = services.clock.now()
    operations.beat(services.engine, "queue:email", now)
    operations.beat(services.engine, "queue:scoring", now - timedelta(minutes=6))
    answer = client.get("/healthz/ready")
    assert answer.status_code == 503 and answer.json["checks"]["worker:email"] == "ok"
    assert "last canary completed 36" in answer.json["checks"]["worker:scoring"]
    operations.beat(services.engine, "queue:scoring", now)
    assert client.get("/healthz/ready").status_code == 200


def test_every_request_gets_an_id_in_its_answer_and_log_line(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="qimatch.web"):
        mine = client.get("/api/v1/taxonomy", headers={"X-Request-ID": "proxy-given-1234"})
        theirs = client.get("/api/v1/taxonomy?q=someone@example.org", headers={"X-Request-ID": "a b forged{}"})
    assert mine.headers["X-Request-ID"] == "proxy-given-1234"
    assert len(theirs.headers["X-Request-ID"]) == 32  # an id that is not an id is replaced
    logged = [r.getMessage() for r in caplog.records if r.name == "qimatch.web"]
    assert logged[0].startswith("GET /api/v1/taxonomy 200") and "someone" not in " ".join(logged)


def test_json_lines_carry_the_ids_and_redact_secrets() -> None:
    out = io.StringIO()
    log_lines.configure("json", "worker", stream=out)
    try:
        with log_lines.bound(request_id="r-123", task_id="t-456", event_id="789"):
            logging.getLogger("qimatch.test").info("GET /v/%s", "s" * 43)
        logging.getLogger("celery.app.trace").info(
            "Task qimatch.canary[0a1b2c3d-0000-4000-8000-123456789abc] succeeded"
        )
    finally:
        logging.getLogger().handlers.clear()
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["request_id"] == "r-123" and first["task_id"] == "t-456" and first["event_id"] == "789"
    assert first["message"] == "GET /v/[redacted]" and first["process"] == "worker"
    assert second["task_id"] == "0a1b2c3d-0000-4000-8000-123456789abc"  # Celery's own lines


def test_the_log_format_is_json_or_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"QIMATCH_DATA_DIR": str(tmp_path), "QIMATCH_SECRET_KEY": "k"}
    assert Settings.from_env(env).log_format == "text"
    assert Settings.from_env({**env, "QIMATCH_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ValueError, match="QIMATCH_LOG_FORMAT"):
        Settings.from_env({**env, "QIMATCH_LOG_FORMAT": "xml"})


def test_quiet_lines_tell_what_happened_without_naming_anyone() -> None:
    def e(kind: str, team: str | None = "Ward 5", **data: object) -> operations.Happened:
        return operations.Happened(1, kind, "r1" if team else None, team, dict(data))

    told = story.lines(
        [
            e("request.submitted"),
            e("volunteer.registered", team=None),
            e("match.suggested"),
            e("match.suggested"),
            e("match.suggested"),
            e("email.owed", team=None, key="introduction:m1:team"),
            e("email.sent", letter="introduction", to="team"),
            e("email.failed", letter="follow_up", to="volunteer"),
        ]
    )
    assert told == [
        "request from Ward 5",
        "an offer of involvement came in",
        "introduction sent to the team",
        "follow-up failed to the volunteer",
        "suggestions for Ward 5 (3)",
    ]


def test_the_shipped_dashboard_and_alerts_name_only_metrics_we_expose(app: Flask) -> None:
    import re
    from pathlib import Path

    import yaml

    import workers.instruments  # noqa: F401 - the workers' counters, as a worker process has them

    root = Path(__file__).resolve().parents[2]
    exposed = set(re.findall(r"^# TYPE (qimatch_\w+)", app.test_client().get("/metrics").get_data(as_text=True), re.M))
    rules = yaml.safe_load((root / "deploy/prometheus/qimatch-alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((root / "deploy/grafana/qimatch-dashboard.json").read_text())
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    named = {re.sub(r"_(bucket|count|sum)$", "", m) for e in exprs for m in re.findall(r"qimatch_\w+", e)}
    named = {n if n in exposed else re.sub(r"_total$", "", n) for n in named}
    assert named and named <= exposed, named - exposed
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    docs = (root / "docs/monitoring.md").read_text()
    assert all(f"`{alert}`" in docs for alert in alerts)  # each alert says what to do


def test_an_event_keeps_its_request_id_so_the_relay_publishes_it_too(app: Flask, services: Services) -> None:
    from matcher.domain import EventKind
    from workers.publisher import celery_publisher

    answer = app.test_client().post(
        "/api/v1/team-requests", json=factories.team_request(), headers={"X-Request-ID": "trace-relay-0001"}
    )
    assert answer.status_code == 201
    with services.uow() as uow:
        stored = uow.events.where(kind=EventKind.REQUEST_SUBMITTED, order_by="id")
    assert [e.request_id for e in stored] == ["trace-relay-0001"]

    sent: list[dict[str, str]] = []

    class Broker:
        def send_task(self, name: str, args: list[str], headers: dict[str, str]) -> None:
            sent.append(headers)

    celery_publisher(Broker())(stored)  # as beat's relay does, long after the request ended  # type: ignore[arg-type]
    assert sent == [{"qimatch_event": str(stored[0].id), "qimatch_request": "trace-relay-0001"}]
