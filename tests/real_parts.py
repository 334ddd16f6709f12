"""Real PostgreSQL, Redis and SMTP for the integration and end-to-end tests.

A missing service is started from the system's packages if they are installed;
otherwise the run stops at once and says what to install. Never a skip.
"""

from __future__ import annotations

import contextlib
import email
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import redis

PG_ADMIN_URL = os.environ.get("QIMATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _redis_url() -> str:
    """The tests' Redis database; under pytest-xdist each worker (gw0, gw1, ...) takes the next one.

    Queues, leases and rate limits live there, so two workers sharing one would take
    each other's tasks.
    """
    url = os.environ.get("QIMATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    base, _, db = url.rpartition("/")
    return f"{base}/{int(db or 0) + int(worker[2:])}"


REDIS_URL = _redis_url()


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _wait_for(host: str, port: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _port_open(host, port):
            return True
        time.sleep(0.2)
    return False


def ensure_redis() -> None:
    if _port_open("127.0.0.1", 6379):
        return
    if shutil.which("redis-server") is None:
        pytest.exit(
            "Redis is not running on 127.0.0.1:6379 and redis-server is not installed: "
            "apt-get install redis-server (or set QIMATCH_TEST_REDIS_URL)",
            returncode=3,
        )
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    if not _wait_for("127.0.0.1", 6379):
        pytest.exit("redis-server was started but does not answer on 127.0.0.1:6379", returncode=3)


def ensure_postgres() -> None:
    if _port_open("127.0.0.1", 5432):
        return
    clusters = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") is None or not clusters.exists():
        pytest.exit(
            "PostgreSQL is not running on 127.0.0.1:5432 and is not installed: "
            "apt-get install postgresql (trust auth for 127.0.0.1), or set QIMATCH_TEST_PG_URL",
            returncode=3,
        )
    version = sorted(p.name for p in clusters.iterdir())[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False)
    if not _wait_for("127.0.0.1", 5432, 30):
        pytest.exit("PostgreSQL was started but does not answer on 127.0.0.1:5432", returncode=3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    envelope_to: list[str]
    message: Message

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def part(self, content_type: str) -> Any:
        for p in self.message.walk():
            if p.get_content_type() == content_type:
                return p.get_payload(decode=True)
        return None


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free port, recording what it accepts."""

    port: int
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Called with each message before it is accepted; returning a string refuses it with that reply.
    before_accept: Callable[[Message], str | None] | None = None
    # Called with each recipient (before the message is sent); a string refuses it with that reply.
    on_rcpt: Callable[[str], str | None] | None = None
    rcpts: int = 0

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        with self.lock:
            self.rcpts += 1
        if self.on_rcpt is not None:
            refusal = self.on_rcpt(address)
            if refusal:
                return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        if self.before_accept is not None:
            refusal = self.before_accept(message)
            if refusal:
                return refusal
        with self.lock:
            self.received.append(Received(list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, seconds: float = 60) -> list[Received]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.1)
        with self.lock:
            return list(self.received)

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.envelope_to]


class CuttableProxy:
    """A TCP proxy in front of a real server whose line a test can cut for a while.

    What a worker sees when PostgreSQL goes away for some seconds (a restart, a
    failover): open connections drop and new ones are refused, then it comes back.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.down = threading.Event()
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self, seconds: float) -> None:
        """Drop every connection now and refuse new ones for ``seconds`` (in the background)."""
        self.down.set()
        with self.lock:
            conns, self.open = self.open, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        threading.Timer(seconds, self.down.clear).start()

    def close(self) -> None:
        self.listener.close()


class PrivateRedis:
    """A Redis of this test's own (the shared one must not be restarted under others' tests)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _answers(self.port):
            assert time.monotonic() < deadline, "the test's own redis-server did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: every queued and unacknowledged message is gone with it
        self.proc.wait()


def _answers(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_timeout=1).ping())
    except redis.exceptions.ConnectionError:
        return False
