"""Running it in a trust, on real parts: readiness follows the worker, /metrics counts a
submission and its emails, and one grep of the JSON logs follows a request to its emails
without a name or an address in any line."""

from __future__ import annotations

import dataclasses
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from matcher.bootstrap import Services
from matcher.services import coordinators
from tests import factories
from tests.integration.conftest import ROOT, Processes, eventually
from tests.pages_support import request_form
from tests.real_parts import SmtpSink, free_port
from web.app import create_app

pytestmark = pytest.mark.integration


def test_ready_fails_while_the_worker_is_stopped_and_passes_after_it_restarts(
    services: Services, processes: Processes
) -> None:
    processes.env.update(QIMATCH_CANARY_SECONDS="1", QIMATCH_HEARTBEAT_MINUTES="0.1")
    quick = dataclasses.replace(services, settings=dataclasses.replace(services.settings, heartbeat_minutes=0.1))
    client = create_app(services_=quick, test_config={"TESTING": True}).test_client()

    def ready() -> tuple[int, dict[str, Any]]:
        answer = client.get("/healthz/ready")
        return answer.status_code, answer.json

    assert client.get("/healthz/live").status_code == 200
    status, body = ready()
    assert status == 503 and body["checks"]["worker:email"].startswith("failing")  # no worker has run yet

    processes.beat()
    node = f"w{len(processes.running)}@{socket.gethostname()}"
    worker = processes.worker()
    eventually(lambda: ready()[0] == 200, seconds=60)
    assert ready()[1]["checks"] == {
        "database": "ok",
        "broker": "ok",
        "worker:email": "ok",
        "worker:scoring": "ok",
    }
    assert _worker_health(processes, node, timeout=20).returncode == 0

    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=30)
    # Each queue's canary stops at its own moment: wait for the email queue's to lapse.
    eventually(lambda: "last canary completed" in ready()[1]["checks"]["worker:email"], seconds=30)
    assert ready()[0] == 503
    stopped = _worker_health(processes, node, timeout=3)
    assert stopped.returncode == 1 and "did not consume" in stopped.stderr

    processes.worker()
    eventually(lambda: ready()[0] == 200, seconds=60)


def _worker_health(processes: Processes, node: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "web.cli", "worker-health", "--node", node, "--timeout", str(timeout)],
        env={**os.environ, **processes.env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout + 60,
    )


def _call(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[Any, str]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
        return (
            json.loads(raw) if raw and response.headers.get_content_type() == "application/json" else raw.decode()
        ), (response.headers["X-Request-ID"])


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:  # the 303's own headers are what the test reads
        return None


def _sample(metrics: str, name: str, **labels: str) -> float:
    for line in metrics.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        metric, _, value = line.rpartition(" ")
        if metric.split("{")[0] == name and all(f'{k}="{v}"' in metric for k, v in labels.items()):
            return float(value)
    return 0.0


def test_metrics_count_a_submission_and_its_emails_and_one_grep_follows_it_without_personal_data(
    services: Services, processes: Processes, smtp: SmtpSink, tmp_path: Path
) -> None:
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    processes.env.update(QIMATCH_LOG_FORMAT="json", PROMETHEUS_MULTIPROC_DIR=str(multiproc))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes.web(port)
    processes.worker()
    processes.beat()
    coordinators.create_coordinator(
        services.uow(), "ops-lead@nhs.example", "correct horse battery", ["tower_hamlets"], services.clock
    )
    token = _call(
        base, "POST", "/api/v1/auth/token", {"email": "ops-lead@nhs.example", "password": "correct horse battery"}
    )[0]["token"]

    offer = factories.offer(name="Zebedee Quintrell", email="zebedee.quintrell@example.org")
    _call(base, "POST", "/api/v1/volunteers", offer)
    request = factories.team_request()
    request["contact"] = {**request["contact"], "name": "Ottoline Vexley", "email": "ottoline.vexley@nhs.example"}
    made, submitted = _call(base, "POST", "/api/v1/team-requests", request)
    suggestions = eventually(
        lambda: _call(base, "GET", f"/api/v1/team-requests/{made['id']}/suggestions", token=token)[0], seconds=60
    )
    approved, approval = _call(base, "POST", f"/api/v1/matches/{suggestions[0]['match_id']}/approve", token=token)
    assert approved["status"] == "approved"
    smtp.wait_for(2)

    def scraped() -> str:
        return str(_call(base, "GET", "/metrics")[0])

    def both_emails_counted() -> bool:
        # A send is counted inside its task, its duration once the task has returned: wait for both,
        # or a scrape between the two (seen with the suite on three processes) has one duration.
        metrics = scraped()
        return (
            _sample(metrics, "qimatch_emails", outcome="sent") == 2
            and _sample(metrics, "qimatch_task_seconds_count", task="qimatch.send_email") >= 2
        )

    eventually(both_emails_counted, seconds=30)
    metrics = scraped()
    assert _sample(metrics, "qimatch_submissions_total", kind="offer", result="accepted") == 1
    assert _sample(metrics, "qimatch_submissions_total", kind="request", result="accepted") == 1
    assert _sample(metrics, "qimatch_task_runs_total", task="qimatch.send_email") >= 2
    assert _sample(metrics, "qimatch_task_seconds_count", task="qimatch.send_email") >= 2
    assert _sample(metrics, "qimatch_engine_seconds_count", kind="rescore") >= 1
    assert _sample(metrics, "qimatch_approvals_waiting") == 0
    assert 'qimatch_queue_depth{queue="email"}' in metrics

    # A team asks on the page: the same request owes the team its status link by email.
    cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    browser = urllib.request.build_opener(cookies, _NoRedirects())
    with browser.open(f"{base}/team/request", timeout=10) as page:
        token_field = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())
    assert token_field
    form = request_form(
        csrf_token=token_field.group(1),
        **{"contact.name": "Ottoline Vexley", "contact.email": "ottoline.vexley@nhs.example"},
    )
    asked = urllib.request.Request(
        f"{base}/team/request", data=urllib.parse.urlencode(form, doseq=True).encode(), method="POST"
    )
    try:
        browser.open(asked, timeout=10)
        raise AssertionError("the form should answer 303")
    except urllib.error.HTTPError as answer:
        assert answer.code == 303
        page_submission = answer.headers["X-Request-ID"]
    assert smtp.wait_for(3)[-1].message["To"] == "ottoline.vexley@nhs.example"

    def logged(text: str, times: int) -> bool:
        return sum(p.read_text(errors="replace").count(text) for p in tmp_path.glob("*.log")) >= times

    eventually(lambda: logged("email introduction sent", 2) and logged("email private_link sent", 1), seconds=30)
    processes.stop_all()  # every line written and flushed
    lines = [
        line
        for path in sorted(tmp_path.glob("*.log"))
        for line in path.read_text(errors="replace").splitlines()
        if line.strip()
    ]
    # One grep for the approval's request id: the request, its events, the tasks, both emails.
    followed = [json.loads(line) for line in lines if approval in line]
    sent = [line for line in followed if line["message"].startswith("email introduction sent")]
    assert len(sent) == 2 and all(line["task_id"] and line["request_id"] == approval for line in sent)
    assert any(line["logger"] == "qimatch.web" and "/approve" in line["message"] for line in followed)
    # The submission's own grep reaches the worker that scored it.
    from_submission = [json.loads(line) for line in lines if submitted in line]
    assert any(
        line.get("task_id") and line["message"] == "qimatch.suggest_for_request started" for line in from_submission
    )
    # Our own lines all say what they are about: a request, a task, or both.
    ours = [json.loads(line) for line in lines if line.startswith("{")]
    ours = [line for line in ours if line["logger"].startswith(("qimatch", "workers"))]
    assert ours and all(line.get("request_id") or line.get("task_id") for line in ours)
    # The page submission's one grep: the form, its events, the task, the email sent.
    from_page = [json.loads(line) for line in lines if page_submission in line]
    assert any(line["message"] == f"POST /team/request 303 {line['message'].split()[-1]}" for line in from_page)
    assert any(line["message"].startswith("email private_link sent") and line["task_id"] for line in from_page)
    everything = "\n".join(lines)
    for personal in ("Zebedee", "Quintrell", "zebedee.quintrell", "Ottoline", "Vexley", "ottoline.vexley"):
        assert not re.search(personal, everything, re.IGNORECASE), personal
