"""docker-compose.yml, run here without Docker: each of our services' commands and
healthchecks, against the real PostgreSQL, Redis and SMTP server on this machine.

Docker cannot run on this machine, so this test is how the compose file is kept
honest: the same commands, environment and healthchecks, with the hostnames
pointed at the local services.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from matcher.bootstrap import Services
from matcher.domain import MatchStatus
from matcher.services import links
from tests import factories
from tests.integration.conftest import ROOT, eventually
from tests.real_parts import SmtpSink, free_port

pytestmark = pytest.mark.integration
OURS = ("migrate", "web", "worker-email", "worker-scoring", "beat")
WORKERS = ("worker-email", "worker-scoring")


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_compose_file_shape() -> None:
    services = compose()["services"]
    assert {"web", *WORKERS, "beat", "redis", "postgres", "mailcatcher"} <= set(services)
    for name in OURS:
        assert services[name]["build"] == "." and services[name]["image"] == "qimatch:latest"
    for name in ("postgres", "redis", "mailcatcher", "web", *WORKERS):
        assert services[name]["healthcheck"]["test"], name
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in WORKERS:
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    # Health that means it: the web's liveness, and each worker proving it consumes.
    assert "/healthz/live" in " ".join(services["web"]["healthcheck"]["test"])
    for name in WORKERS:
        assert services[name]["healthcheck"]["test"][1:3] == ["qimatch", "worker-health"]
        assert "metrics" in services[name]["volumes"][0]
    assert services["web"]["volumes"] == services["worker-email"]["volumes"]  # one metrics folder for /metrics
    # Emails never wait behind scoring: each queue has its own worker.
    assert [services[name]["command"][-1] for name in WORKERS] == ["email", "scoring"]
    assert (ROOT / "Dockerfile").read_text().count("FROM ") == 1


def local_env(service: dict[str, Any], stack_env: dict[str, str], hostname: str) -> dict[str, str]:
    env = dict(service["environment"])
    env.update(
        QIMATCH_DATABASE_URL=stack_env["QIMATCH_DATABASE_URL"],
        QIMATCH_BROKER_URL=stack_env["QIMATCH_BROKER_URL"],
        QIMATCH_SMTP_URL=stack_env["QIMATCH_SMTP_URL"],
        QIMATCH_SECRET_KEY="compose-test",
        QIMATCH_BASE_URL="http://localhost:8000",
        QIMATCH_DATA_DIR=stack_env["QIMATCH_DATA_DIR"],
        QIMATCH_RELAY_SECONDS="1",
        QIMATCH_METRICS_TOKEN="compose-metrics",
        PROMETHEUS_MULTIPROC_DIR=str(Path(stack_env["QIMATCH_DATA_DIR"]) / "compose-metrics"),
    )
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, **env, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HOSTNAME": hostname}


def shell(test: list[str]) -> list[str]:
    kind, *rest = test
    if kind == "CMD-SHELL":
        return ["sh", "-c", rest[0].replace("$$", "$")]
    return rest


def test_each_compose_service_runs_here_against_real_redis_and_postgres(
    services: Services, stack_env: dict[str, str], smtp: SmtpSink, tmp_path: Path, clean: None
) -> None:
    spec = compose()["services"]
    port = free_port()
    hostname = socket.gethostname()

    def cmd(name: str) -> list[str]:
        return [str(part).replace("8000", str(port)) for part in spec[name]["command"]]

    env = {name: local_env(spec[name], stack_env, hostname) for name in OURS}
    migrated = subprocess.run(cmd("migrate"), env=env["migrate"], cwd=tmp_path, capture_output=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr.decode()

    started = []
    try:
        for name in ("web", *WORKERS, "beat"):
            log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            started.append(
                subprocess.Popen(
                    cmd(name), env=env[name], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )

        def healthy(name: str) -> bool:
            test = [str(part).replace("8000", str(port)) for part in spec[name]["healthcheck"]["test"]]
            return (
                subprocess.run(shell(test), env=env[name], cwd=tmp_path, capture_output=True, timeout=30).returncode
                == 0
            )

        eventually(lambda: healthy("web"), seconds=60, every=1)
        for name in WORKERS:
            eventually(lambda name=name: healthy(name), seconds=90, every=2)
        eventually(lambda: b"beat: Starting" in (tmp_path / "beat.log").read_bytes(), seconds=60)

        # Work goes through gunicorn and the compose worker.
        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/{path}",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(req, timeout=10) as response:
                assert response.status == 201
                return json.loads(response.read())  # type: ignore[no-any-return]

        offer = factories.offer()
        post("volunteers", offer)
        request_id = post("team-requests", factories.team_request())["id"]
        # As deployed, an anonymous offer waits for its owner to confirm their address: the
        # compose worker sends the link, and the owner uses it.
        mail = eventually(lambda: smtp.to(offer["email"]), seconds=60)[-1].part("text/plain").decode()
        secret = re.search(r"/v/([A-Za-z0-9_\-]+)", mail)
        assert secret, mail
        assert links.redeem_link(services.uow(), secret.group(1), services.clock) is not None

        def suggested() -> int:
            with services.uow() as uow:
                return uow.matches.count(team_request_id=request_id, status=MatchStatus.SUGGESTED)

        eventually(suggested, seconds=60)
    finally:
        for proc in started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in started:
            proc.wait(timeout=30)
