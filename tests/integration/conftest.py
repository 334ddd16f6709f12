"""The real stack for integration tests: PostgreSQL, Redis, SMTP and Celery processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import create_engine, text

from matcher.bootstrap import Services
from matcher.config import Settings
from tests.notify_server import NotifyServer
from tests.real_parts import PG_ADMIN_URL, REDIS_URL, SmtpSink, ensure_postgres, ensure_redis, free_port
from web.app import create_app
from workers.app import make_celery
from workers.wiring import wire

ROOT = Path(__file__).resolve().parents[2]


def eventually(check: Callable[[], Any], seconds: float = 90, every: float = 0.2) -> Any:
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"not reached within {seconds}s; last value: {last!r}")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    ensure_postgres()
    name = f"qimatch_it_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    ensure_redis()
    return REDIS_URL


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture(scope="session")
def notify() -> Iterator[NotifyServer]:
    """A local GOV.UK Notify: texts go there, by the real client, with its JWT checked."""
    server = NotifyServer()
    server.url = server.start()
    yield server
    server.stop()


NOTIFY_TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"
NOTIFY_CALLBACK_TOKEN = "notify-callback-integration-token"


@pytest.fixture(scope="session")
def stack_env(
    pg_url: str, redis_url: str, smtp: SmtpSink, notify: NotifyServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    return {
        # Texts to phone-preferring volunteers' mobiles go to the local Notify, as to the real one.
        "QIMATCH_NOTIFY_API_KEY": notify.api_key,
        "QIMATCH_NOTIFY_BASE_URL": notify.url,
        "QIMATCH_NOTIFY_SMS_TEMPLATE_ID": NOTIFY_TEMPLATE,
        "QIMATCH_NOTIFY_CALLBACK_TOKEN": NOTIFY_CALLBACK_TOKEN,
        "QIMATCH_DATABASE_URL": pg_url,
        "QIMATCH_BROKER_URL": redis_url,
        "QIMATCH_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        "QIMATCH_DATA_DIR": str(tmp_path_factory.mktemp("qimatch-data")),
        "QIMATCH_SECRET_KEY": "integration-tests",
        # Sign-in's second factor has its own tests; the rest sign in with a password.
        "QIMATCH_REQUIRE_TOTP": "false",
        "QIMATCH_BASE_URL": "http://qimatch.test",
        # Offers are matchable at once unless a test is about confirming email addresses
        # (tests/integration/test_email_confirmation.py, and the browser tests, turn it on).
        "QIMATCH_CONFIRM_EMAILS": "false",
        # Short leases and timeouts so recovery after a kill takes seconds, not an hour.
        "QIMATCH_DELIVERY_LEASE_SECONDS": "10",
        "QIMATCH_EMAIL_TASK_SECONDS": "8",
        "QIMATCH_SMTP_TIMEOUT": "5",
        "QIMATCH_VISIBILITY_TIMEOUT": "6",
        "QIMATCH_RELAY_SECONDS": "1",
        "QIMATCH_RELAY_GRACE_SECONDS": "2",
        "QIMATCH_DISPATCH_SECONDS": "2",
    }


@pytest.fixture(scope="session")
def services(stack_env: dict[str, str]) -> Services:
    settings = Settings.from_env(stack_env)
    return wire(settings, celery=make_celery(settings), migrate_database=True)


@pytest.fixture
def clean(services: Services, redis_url: str, smtp: SmtpSink, notify: NotifyServer) -> Iterator[None]:
    """Each test starts from an empty programme (the vocabularies stay) and an empty queue."""
    assert services.engine is not None
    with services.engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE payment_lines, finance_exports, activities, payment_rates, payment_accounts,"
                " feedback_answers, feedback_forms, digests, audit_entries, access_tokens, follow_ups,"
                " matches, events, deliveries, session_bookings, programme_sessions, coordinators, volunteers,"
                " team_requests, rescores_due, outreach_events, meeting_suggestions, team_chats, retention_reviews,"
                " content_versions, heartbeats, calls"
            )
        )
    redis.Redis.from_url(redis_url).flushdb()
    with smtp.lock:
        smtp.received.clear()
    smtp.before_accept = None
    smtp.on_rcpt = None
    notify.clear()
    yield


@pytest.fixture
def app(services: Services, clean: None) -> Flask:
    return create_app(services_=services, test_config={"TESTING": True, "SUBMISSION_RATE_LIMIT": "10000 per minute"})


def _answers_http(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/taxonomy", timeout=2):
            return True
    except OSError:
        return False


@dataclass
class Processes:
    """Real `celery worker` / `celery beat` processes, each in its own process group."""

    env: dict[str, str]
    logs: Path
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}-{len(self.running)}.log", "wb")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.app:celery_app", *args],
            env={**os.environ, **self.env},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append(proc)
        return proc

    def worker(self, concurrency: int = 2) -> subprocess.Popen[bytes]:
        proc = self._spawn(
            "worker",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"w{len(self.running)}@%h",
        )
        log = Path(self.logs / f"worker-{len(self.running) - 1}.log")
        eventually(lambda: b" ready." in log.read_bytes(), seconds=60)
        return proc

    def beat(self) -> subprocess.Popen[bytes]:
        return self._spawn("beat", "beat", "--loglevel=INFO", "--schedule", str(self.logs / "beat-schedule"))

    def web(self, port: int) -> subprocess.Popen[bytes]:
        """`qimatch web`: gunicorn's threaded workers, as deployed."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "web", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env={**os.environ, **self.env},
            cwd=ROOT,
            stdout=open(self.logs / f"web-{len(self.running)}.log", "wb"),  # noqa: SIM115 - lives with the process
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append(proc)
        eventually(lambda: _answers_http(port), seconds=60)
        return proc

    def kill9(self, proc: subprocess.Popen[bytes]) -> None:
        # The whole group: the main process and its pool children die at once, mid-task.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.running:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in sorted(self.logs.glob("*.log")))


@pytest.fixture
def processes(stack_env: dict[str, str], tmp_path: Path, clean: None) -> Iterator[Processes]:
    procs = Processes(dict(stack_env), tmp_path)  # a test may change its own copy
    yield procs
    procs.stop_all()


@pytest.fixture
def worker(processes: Processes) -> Processes:
    """A real Celery worker: the pages only record that an email is owed; the worker sends it."""
    processes.worker()
    return processes
