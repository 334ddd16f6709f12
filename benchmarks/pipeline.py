"""The live service measured end to end: ``python -m benchmarks.pipeline [--quick]``.

It creates its own PostgreSQL database, migrates it with ``qimatch migrate``, loads a
realistic population (``matcher.generate``: 1-3 availability windows, trainings,
sometimes exclusions; some paused or withdrawn) through the ORM, starts ``qimatch
web``, ``qimatch worker`` and ``qimatch beat`` exactly as an operator would, and in
one run measures:

- intake: volunteers registered per second through ``POST /api/v1/volunteers``,
  against a bare Flask JSON endpoint (``benchmarks/bare_flask.py``) under the same
  gunicorn command and the same client;
- a burst of team requests posted at once: requests per second until every one has
  a suggestion, and the time from each submission to its first suggestion;
- a no-op Celery task's rate on the same worker command, broker and settings
  (``benchmarks/noop_tasks.py``), and the burst's rate as a share of it;
- single requests on a quiet system, each from submission to its first suggestion;
- the resident memory of the worker's pool processes holding 50,000 volunteers.

Only stable interfaces are used: the ``qimatch`` command, ``QIMATCH_*`` settings, the
HTTP API v1, and the ``matches`` table (polled to see when a request's first
suggestion becomes visible). Whatever code is checked out is what gets measured.
Everything it started is stopped, and its database dropped, on success, error or
Ctrl-C. It empties the Redis database it is given (default ``/12``) before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("QIMATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("QIMATCH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
# Volunteers posted through the API are numbered from here, apart from the loaded ones.
INTAKE_FIRST = 900_000
# Posts before each intake measurement, so both servers' workers have imported and connected.
WARM_UP_POSTS = 20


# -- options -------------------------------------------------------------------------------------


@dataclass
class Options:
    volunteers: int = 20_000
    intake: int = 1_500
    burst: int = 500
    quiet: int = 20
    noop: int = 3_000
    rss_volunteers: int = 50_000
    skip_rss: bool = False
    clients: int = 8
    timeout: float = 300.0
    burst_timeout: float = 600.0
    poll_ms: float = 10.0
    redis_url: str = REDIS_URL
    pg_admin_url: str = PG_ADMIN_URL
    json_out: str | None = None
    keep_logs: bool = False
    seed: int = 8


QUICK = dict(
    volunteers=2_000, intake=60, burst=20, quiet=3, noop=200, rss_volunteers=3_000, timeout=120.0, burst_timeout=180.0
)


def parse_options(argv: Sequence[str] | None = None) -> Options:
    d = Options()
    p = argparse.ArgumentParser(prog="python -m benchmarks.pipeline", description=__doc__.split("\n\n")[0])
    p.add_argument("--volunteers", type=int, default=d.volunteers, help="population for the burst and quiet runs")
    p.add_argument("--intake", type=int, default=d.intake, help="volunteers posted to each intake endpoint")
    p.add_argument("--burst", type=int, default=d.burst, help="team requests posted at once")
    p.add_argument("--quiet", type=int, default=d.quiet, help="single requests on a quiet system")
    p.add_argument("--noop", type=int, default=d.noop, help="no-op tasks for the Celery ceiling")
    p.add_argument("--rss-volunteers", type=int, default=d.rss_volunteers, help="population for the RSS figure")
    p.add_argument("--skip-rss", action="store_true", help="leave out the RSS figure (and its loading)")
    p.add_argument("--clients", type=int, default=d.clients, help="concurrent HTTP clients (threads)")
    p.add_argument(
        "--timeout",
        type=float,
        default=d.timeout,
        help="seconds to wait for a process, a quiet broker, or one request's suggestions",
    )
    p.add_argument(
        "--burst-timeout",
        type=float,
        default=d.burst_timeout,
        help="seconds to wait for the whole burst; "
        "requests still without suggestions then count as slower than this, and are closed",
    )
    p.add_argument("--poll-ms", type=float, default=d.poll_ms, help="how often the matches table is read")
    p.add_argument("--redis-url", default=d.redis_url, help="broker; this Redis database is emptied")
    p.add_argument("--pg-admin-url", default=d.pg_admin_url, help="a PostgreSQL URL that may create databases")
    p.add_argument("--json", dest="json_out", default=None, help="also write the figures to this file")
    p.add_argument("--keep-logs", action="store_true", help="keep the processes' logs (their folder is printed)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--quick", action="store_true", help="a smoke run with small numbers (CI)")
    args = vars(p.parse_args(argv))
    quick = args.pop("quick")
    options = Options(**args)
    if quick:
        # Small numbers, unless given explicitly.
        given = {a.split("=")[0].lstrip("-").replace("-", "_") for a in (argv or sys.argv[1:]) if a.startswith("--")}
        for name, value in QUICK.items():
            if name not in given:
                setattr(options, name, value)
    if options.volunteers < options.intake + WARM_UP_POSTS:
        p.error(f"--volunteers must be at least --intake + {WARM_UP_POSTS} (the offers posted are part of it)")
    if not options.skip_rss and options.rss_volunteers < options.volunteers:
        p.error("--rss-volunteers must be at least --volunteers")
    return options


# -- the machine ----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram_gb = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) / 1024 / 1024
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gb": round(ram_gb, 1),
        "python": platform.python_version(),
        "load_at_start": [round(x, 2) for x in load],
    }


# -- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Exec(Exception):
    def __init__(self, argv: list[str]) -> None:
        self.argv = argv


def exec_argv(*args: str) -> list[str] | None:
    """The command line ``qimatch <args>`` would exec, found by running the command with
    ``os.execvp`` intercepted: the no-op worker and the bare Flask server then run with
    exactly the flags the real ones have, whatever the checked-out code says."""
    from web import cli

    def caught(_file: str, argv: Sequence[str]) -> None:
        raise _Exec(list(argv))

    with mock.patch.object(os, "execvp", caught), mock.patch.object(os, "execv", caught):
        try:
            cli.main.main(list(args), prog_name="qimatch", standalone_mode=False)
        except _Exec as done:
            return done.argv
    return None


def bare_flask_argv(host: str, port: int) -> list[str]:
    """``qimatch web``'s gunicorn command with the bare Flask app in place of ours."""
    real = exec_argv("web", "--host", host, "--port", str(port))
    if real is not None and "web.wsgi:app" in real:
        return [("benchmarks.bare_flask:app" if a == "web.wsgi:app" else a) for a in real]
    from web import cli

    make = getattr(cli, "gunicorn_argv", None)
    if make is None:
        raise SystemExit(f"cannot tell how `qimatch web` runs gunicorn (it execs {real!r})")
    defaults = {p.name: p.default for p in cli.web.params}
    argv = make("benchmarks.bare_flask:app", host, port, defaults.get("workers", 2), defaults.get("threads", 1))
    return [sys.executable, "-m", "gunicorn", *argv]


def qimatch(*args: str) -> list[str]:
    return [sys.executable, "-m", "web.cli", *args]


@dataclass
class Stack:
    """The processes this run started, each in its own process group, with its log."""

    env: dict[str, str]
    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.running[name] = proc
        return proc

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, name: str) -> None:
        proc = self.running.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                # The main process only: Celery's warm shutdown and gunicorn's graceful one
                # let their children finish what they are doing.
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Pool children outliving their parent would keep the database busy.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)

    def run(self, name: str, argv: list[str]) -> None:
        with open(self.logs / f"{name}.log", "ab") as log:
            done = subprocess.run(argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        if done.returncode:
            raise SystemExit(f"`{' '.join(argv[2:])}` failed:\n{self.log(name)[-3000:]}")

    def wait_for_log(self, name: str, text: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in self.log(name):
                return
            proc = self.running.get(name)
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.2)
        raise SystemExit(f"{name} not ready (no {text!r} in its log):\n{self.log(name)[-3000:]}")

    def wait_for_http(self, name: str, port: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            proc = self.running.get(name)
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.2)
        raise SystemExit(f"{name} does not answer /healthz on port {port}:\n{self.log(name)[-3000:]}")


def rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


# -- the client -----------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP connection, reopened whenever the server closes it
    (gunicorn's sync workers close after every response)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request("POST", path, body, {"Content-Type": "application/json", **headers})
                response = self.conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
                continue
            if response.will_close:
                self.conn.close()
                self.conn = None
            return response.status, data
        raise AssertionError("unreachable")

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


def forwarded_for(i: int) -> dict[str, str]:
    # The anonymous submission limit counts per client address (60 a minute on main): each
    # submission comes from its own address, behind one trusted proxy (QIMATCH_PROXY_HOPS=1),
    # so the limit is still checked and counted in Redis but never refuses the benchmark.
    return {"X-Forwarded-For": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"}


@dataclass
class Sent:
    started: float  # time.monotonic() just before the request was written
    status: int
    body: bytes


def post_all(
    port: int,
    path: str | Sequence[str],
    bodies: Sequence[bytes],
    clients: int,
    first_address: int = 0,
    on_answer: Callable[[int, Sent], None] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[float, list[Sent]]:
    """Post every body (to one path, or each to its own) with ``clients`` concurrent
    connections; the wall time and each answer."""
    paths = [path] * len(bodies) if isinstance(path, str) else list(path)
    results: list[Sent | None] = [None] * len(bodies)
    next_index = iter(range(len(bodies)))
    lock = threading.Lock()

    def work() -> None:
        client = Client(port)
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            started = time.monotonic()
            try:
                status, data = client.post(paths[i], bodies[i], {**forwarded_for(first_address + i), **(headers or {})})
            except (OSError, http.client.HTTPException) as e:
                status, data = 0, str(e).encode()
            results[i] = sent = Sent(started, status, data)
            if on_answer is not None:
                on_answer(i, sent)

    t0 = time.monotonic()
    threads = [threading.Thread(target=work, daemon=True) for _ in range(max(1, clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0, [r for r in results if r is not None]


def statuses(sent: Sequence[Sent]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for s in sent:
        counts[s.status] = counts.get(s.status, 0) + 1
    return counts


# -- the population -------------------------------------------------------------------------------


def offer_body(n: int, seed: int) -> bytes:
    from matcher.generate import make_volunteer, volunteer_record

    volunteer, _ = make_volunteer(random.Random(seed * 1_000_003 + n), n)
    record = volunteer_record(volunteer)
    del record["id"], record["status"]  # the service gives both
    # A batch-only field: the API takes declared trainings; only attendance verifies one.
    record.pop("verified_trainings", None)
    return json.dumps(record).encode()


def request_body(n: int, seed: int) -> bytes:
    from matcher.generate import make_request, request_record

    # Plentiful requests (not the scarce in-person Big-I kind): each should find someone.
    record = request_record(make_request(random.Random(seed * 7_000_003 + n), n, scarce=False))
    del record["id"]
    return json.dumps(record).encode()


def load_volunteers(first: int, count: int, seed: int) -> None:
    """Volunteers stored through the domain classes and the ORM's unit of work, as if they
    had signed up over the past year (their waiting time is their age); no events, so no
    worker is woken for them."""
    from matcher.bootstrap import bootstrap
    from matcher.config import Settings
    from matcher.generate import make_volunteer

    services = bootstrap(Settings.from_env())
    rng = random.Random(seed)
    now = datetime.now(UTC)
    chunk = 2_000
    for start in range(first, first + count, chunk):
        with services.uow() as uow:
            for n in range(start, min(start + chunk, first + count)):
                volunteer, standing = make_volunteer(rng, n)
                volunteer.created_at = volunteer.updated_at = now - timedelta(days=standing.waiting_days)
                uow.volunteers.add(volunteer)
            uow.commit()
    assert services.engine is not None
    services.engine.dispose()


# -- watching for suggestions ---------------------------------------------------------------------


class Suggestions:
    """When each request's first suggestion became visible in the matches table."""

    def __init__(self, database_url: str, poll_ms: float) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(database_url)
        self.every = poll_ms / 1000
        self.pending: set[str] = set()
        self.seen: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def watch(self, request_id: str) -> None:
        with self.lock:
            if request_id not in self.seen:
                self.pending.add(request_id)

    def _run(self) -> None:
        from sqlalchemy import text

        query = text("SELECT DISTINCT team_request_id FROM matches WHERE team_request_id = ANY(:ids)")
        with self.engine.connect() as conn:
            while not self.stopping.is_set():
                with self.lock:
                    ids = list(self.pending)
                if ids:
                    found = conn.execute(query, {"ids": ids}).scalars().all()
                    conn.commit()  # a fresh snapshot next time
                    now = time.monotonic()
                    with self.lock:
                        for rid in found:
                            self.seen.setdefault(rid, now)
                            self.pending.discard(rid)
                time.sleep(self.every)

    def wait(self, ids: Sequence[str], seconds: float) -> dict[str, float]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                if all(i in self.seen for i in ids):
                    break
            time.sleep(self.every)
        with self.lock:
            return {i: self.seen[i] for i in ids if i in self.seen}

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.engine.dispose()


def settle(redis_client: Any, seconds: float, quiet_for: float = 1.5) -> bool:
    """Wait until the broker has held no message, queued or unacknowledged, for ``quiet_for`` s."""
    deadline = time.monotonic() + seconds
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        busy = redis_client.hlen("unacked")
        for key in redis_client.scan_iter(count=500):
            if redis_client.type(key) == b"list":
                busy += redis_client.llen(key)
        now = time.monotonic()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= quiet_for:
            return True
        time.sleep(0.1)
    return False


# -- figures --------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: a value that occurred (so an unfinished request, counted as infinite, shows as such)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class Figures:
    machine: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    intake_bare_per_s: float = float("nan")
    intake_app_per_s: float = float("nan")
    intake_ratio: float = float("nan")
    intake_errors: dict[str, int] = field(default_factory=dict)
    noop_per_s: float = float("nan")
    burst_requests: int = 0
    burst_submit_s: float = float("nan")
    burst_with_suggestions: int = 0
    burst_per_s: float = float("nan")
    burst_p50_s: float = float("nan")
    burst_p95_s: float = float("nan")
    burst_max_s: float = float("nan")
    pipeline_ratio: float = float("nan")
    quiet_requests: int = 0
    quiet_with_suggestions: int = 0
    quiet_p50_ms: float = float("nan")
    quiet_max_ms: float = float("nan")
    quiet_api_suggestions: int = -1
    worker_rss_volunteers: int = 0
    worker_rss_mb: float = float("nan")
    worker_rss_total_mb: float = float("nan")
    worker_rss_at_burst_size_mb: float = float("nan")
    notes: list[str] = field(default_factory=list)


def _met(value: float, target: float, at_least: bool) -> str:
    if value != value:  # NaN: not measured
        return "-"
    return "yes" if (value >= target if at_least else value <= target) else "no"


def _seconds(value: float, limit: float) -> str:
    return f"> {limit:.0f} s" if value == math.inf else f"{value:.2f} s"


def _json(value: Any) -> Any:
    """Figures as standard JSON: a figure not measured (NaN) or never reached (infinite) is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def table(f: Figures) -> str:
    limit = float(f.settings.get("burst_timeout", 0))
    rows = [
        ("intake, bare Flask (same gunicorn, same client)", f"{f.intake_bare_per_s:.1f} /s", "", ""),
        ("intake, qimatch web POST /api/v1/volunteers", f"{f.intake_app_per_s:.1f} /s", "", ""),
        ("intake ratio (qimatch / bare Flask)", f"{f.intake_ratio:.3f}", "≥ 0.5", _met(f.intake_ratio, 0.5, True)),
        ("no-op Celery tasks (same worker command)", f"{f.noop_per_s:.1f} /s", "", ""),
        (
            f"burst: {f.burst_requests} requests, with suggestions",
            f"{f.burst_with_suggestions}/{f.burst_requests}",
            "all",
            "yes" if f.burst_requests and f.burst_with_suggestions == f.burst_requests else "no",
        ),
        ("burst: requests with suggestions /s", f"{f.burst_per_s:.2f} /s", "", ""),
        ("pipeline ratio (burst /s / no-op /s)", f"{f.pipeline_ratio:.4f}", "≥ 0.5", _met(f.pipeline_ratio, 0.5, True)),
        ("burst: submission to first suggestion p50", _seconds(f.burst_p50_s, limit), "", ""),
        (
            "burst: submission to first suggestion p95",
            _seconds(f.burst_p95_s, limit),
            "≤ 2 s",
            _met(f.burst_p95_s, 2, False),
        ),
        ("burst: submission to first suggestion max", _seconds(f.burst_max_s, limit), "", ""),
        (
            f"quiet: {f.quiet_requests} single requests, p50",
            f"{f.quiet_p50_ms:.0f} ms",
            "≤ 100 ms",
            _met(f.quiet_p50_ms, 100, False),
        ),
        ("quiet: max", f"{f.quiet_max_ms:.0f} ms", "", ""),
        (
            "quiet: the last one's suggestions on the API",
            f"{f.quiet_api_suggestions}",
            "≥ 1",
            _met(f.quiet_api_suggestions, 1, True),
        ),
        (
            f"worker RSS at {f.worker_rss_volunteers:,} volunteers, largest pool process",
            f"{f.worker_rss_mb:.0f} MB",
            "≤ 300 MB",
            _met(f.worker_rss_mb, 300, False),
        ),
        ("worker RSS, main + pool processes together", f"{f.worker_rss_total_mb:.0f} MB", "", ""),
        ("worker RSS after the burst (largest pool process)", f"{f.worker_rss_at_burst_size_mb:.0f} MB", "", ""),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'measure':<{width}}  {'figure':>14}  {'target':>9}  met"]
    lines += [f"{a:<{width}}  {b:>14}  {c:>9}  {d}" for a, b, c, d in rows]
    return "\n".join(lines)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- the run --------------------------------------------------------------------------------------


class Run:
    def __init__(self, options: Options, database_url: str, work: Path) -> None:
        import redis

        self.o = options
        self.database_url = database_url
        self.redis = redis.Redis.from_url(options.redis_url)
        self.f = Figures(machine=machine(), settings=asdict(options))
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
            "QIMATCH_DATABASE_URL": database_url,
            "QIMATCH_BROKER_URL": options.redis_url,
            "QIMATCH_DATA_DIR": str(work / "data"),
            "QIMATCH_SECRET_KEY": "pipeline-benchmark",
            "QIMATCH_BASE_URL": "http://127.0.0.1",
            # Behind one (pretend) proxy: see forwarded_for.
            "QIMATCH_PROXY_HOPS": "1",
            # The whole-programme solve every 15 minutes would land inside some measurement
            # at random: it is moved beyond the run.
            "QIMATCH_ASSIGN_SECONDS": "86400",
        }
        self.env.pop("QIMATCH_SMTP_URL", None)  # emails go to files in the data folder
        self.stack = Stack(self.env, work / "logs")
        self.stack.logs.mkdir(parents=True)

    def settle(self, quiet_for: float = 1.5) -> None:
        if not settle(self.redis, self.o.timeout, quiet_for) and "busy" not in " ".join(self.f.notes):
            self.f.notes.append(
                f"the broker was still busy after {self.o.timeout:.0f}s: a later phase did not start on a quiet system"
            )

    # The phases, in order.

    def prepare(self) -> None:
        say(f"migrating {self.database_url.rsplit('/', 1)[-1]}")
        self.stack.run("migrate", qimatch("migrate"))
        posted = self.o.intake + WARM_UP_POSTS
        loaded = self.o.volunteers - posted
        t0 = time.monotonic()
        load_volunteers(0, loaded, self.o.seed)
        say(f"loaded {loaded:,} volunteers in {time.monotonic() - t0:.1f}s (+{posted:,} through the API below)")

    def intake_bodies(self) -> tuple[list[bytes], list[bytes]]:
        """The offers posted to warm up, and those timed: the same for both servers."""
        bodies = [offer_body(INTAKE_FIRST + i, self.o.seed) for i in range(WARM_UP_POSTS + self.o.intake)]
        return bodies[:WARM_UP_POSTS], bodies[WARM_UP_POSTS:]

    def measure_intake(self, port: int) -> tuple[float, list[Sent]]:
        warm, timed = self.intake_bodies()
        post_all(port, "/api/v1/volunteers", warm, self.o.clients, first_address=0)
        return post_all(port, "/api/v1/volunteers", timed, self.o.clients, first_address=WARM_UP_POSTS)

    def bare_flask(self) -> None:
        port = free_port()
        self.stack.start("bare-flask", bare_flask_argv("127.0.0.1", port))
        self.stack.wait_for_http("bare-flask", port, 60)
        # It takes seconds where ours takes minutes, so a moment of someone else's load on a
        # shared CPU moves it a lot: the median of three rounds (it stores nothing, so the
        # same offers can be posted again).
        rates = []
        for _ in range(3):
            seconds, sent = self.measure_intake(port)
            rates.append(len(sent) / seconds)
            say(f"bare Flask: {len(sent)} posts in {seconds:.2f}s, answers {statuses(sent)}")
        self.stack.stop("bare-flask")
        self.f.intake_bare_per_s = statistics.median(rates)

    def noop(self) -> None:
        from benchmarks.noop_tasks import COUNTER, TASK
        from workers.app import celery_app as producer  # the app's own routing: the queue our tasks use

        argv = exec_argv("worker")
        if argv is None:
            raise SystemExit("`qimatch worker` did not exec a command: cannot start the no-op worker like it")
        self.stack.start("noop-worker", [*argv, "--include=benchmarks.noop_tasks"])
        self.stack.wait_for_log("noop-worker", " ready.", 120)

        def send_and_time(n: int) -> float:
            self.redis.delete(COUNTER)
            t0 = time.monotonic()
            for _ in range(n):
                producer.send_task(TASK)
            deadline = time.monotonic() + self.o.timeout
            while int(self.redis.get(COUNTER) or 0) < n:
                if time.monotonic() > deadline:
                    raise SystemExit(f"no-op tasks: {int(self.redis.get(COUNTER) or 0)}/{n} ran in time")
                time.sleep(0.005)
            return time.monotonic() - t0

        send_and_time(min(50, self.o.noop))  # warm up: both pool processes connected
        seconds = send_and_time(self.o.noop)
        self.stack.stop("noop-worker")
        self.f.noop_per_s = self.o.noop / seconds
        say(f"no-op: {self.o.noop} tasks in {seconds:.2f}s")

    def start_service(self) -> None:
        self.port = free_port()
        self.stack.start("web", qimatch("web", "--host", "127.0.0.1", "--port", str(self.port)))
        self.stack.start("worker", qimatch("worker"))
        self.stack.start("beat", qimatch("beat"))
        self.stack.wait_for_http("web", self.port, 90)
        self.stack.wait_for_log("worker", " ready.", 120)
        say(f"qimatch web (port {self.port}), worker and beat are up")

    def intake(self) -> None:
        seconds, sent = self.measure_intake(self.port)
        answers = statuses(sent)
        self.f.intake_app_per_s = len(sent) / seconds
        self.f.intake_ratio = self.f.intake_app_per_s / self.f.intake_bare_per_s
        self.f.intake_errors = {str(k): v for k, v in answers.items() if k != 201}
        say(f"qimatch web: {len(sent)} posts in {seconds:.2f}s, answers {answers}")
        if self.f.intake_errors:
            self.f.notes.append(f"intake answers other than 201: {self.f.intake_errors}")

    def submit_requests(self, first: int, count: int, watch: Suggestions) -> tuple[float, dict[str, float]]:
        """Post ``count`` requests at once; their ids with the time each submission started."""
        started: dict[str, float] = {}
        lock = threading.Lock()

        def answered(_i: int, sent: Sent) -> None:
            if sent.status == 201:
                rid = json.loads(sent.body)["id"]
                with lock:
                    started[rid] = sent.started
                watch.watch(rid)

        bodies = [request_body(first + i, self.o.seed) for i in range(count)]
        # Addresses apart from the intake's, so no limit counter is shared.
        seconds, sent = post_all(
            self.port, "/api/v1/team-requests", bodies, self.o.clients, 100_000 + first, on_answer=answered
        )
        refused = {k: v for k, v in statuses(sent).items() if k != 201}
        if refused:
            self.f.notes.append(f"team requests answered other than 201 (requests {first}..): {refused}")
        return seconds, started

    def warm_up(self, watch: Suggestions) -> None:
        self.settle()
        _, started = self.submit_requests(0, 1, watch)
        seen = watch.wait(list(started), self.o.timeout)
        after = f"after {max(seen.values()) - min(started.values()):.2f}s" if seen else "none"
        say(f"warm-up request: suggestions {after}")
        self.settle()

    def burst(self, watch: Suggestions) -> None:
        f, n = self.f, self.o.burst
        submit_s, started = self.submit_requests(1, n, watch)
        say(f"burst: {len(started)} requests accepted in {submit_s:.2f}s; waiting for their suggestions")
        first = min(started.values(), default=time.monotonic())
        seen = watch.wait(list(started), self.o.burst_timeout - (time.monotonic() - first))
        gave_up = time.monotonic()
        # A request refused or still without a suggestion counts as slower than any that has one.
        latencies = [seen[r] - started[r] for r in seen] + [math.inf] * (n - len(seen))
        f.burst_requests, f.burst_submit_s, f.burst_with_suggestions = n, submit_s, len(seen)
        if seen:
            # All done: up to the last one's first suggestion; else, what was done in the time allowed.
            until = max(seen.values()) if len(seen) == n else gave_up
            f.burst_per_s = len(seen) / (until - first)
            f.pipeline_ratio = f.burst_per_s / f.noop_per_s
        f.burst_p50_s, f.burst_p95_s, f.burst_max_s = (percentile(latencies, q) for q in (0.5, 0.95, 1.0))
        say(
            f"burst: {len(seen)}/{n} with suggestions, {f.burst_per_s:.2f}/s, "
            f"p95 {_seconds(f.burst_p95_s, self.o.burst_timeout)}"
        )
        unfinished = [r for r in started if r not in seen]
        if len(seen) < n:
            f.notes.append(
                f"burst: {n - len(seen)} of {n} requests had no suggestion {self.o.burst_timeout:.0f}s after the "
                f"first submission; they count as slower than that, and the rate is over those "
                f"{gave_up - first:.0f}s. They were then closed through the API so the rest of the run is quiet."
            )
            self.close_requests(unfinished)
        self.settle()

    def close_requests(self, ids: Sequence[str]) -> None:
        """What a coordinator would do with a backlog nobody can wait for: close the requests
        (a closed request's queued rescore then costs next to nothing)."""
        paths = [f"/api/v1/team-requests/{rid}/close" for rid in ids]
        auth = {"Authorization": f"Bearer {self.api_token()}"}
        t0 = time.monotonic()
        post_all(self.port, paths, [b"{}"] * len(ids), self.o.clients, 300_000, headers=auth)
        say(f"closed {len(ids)} unfinished burst requests in {time.monotonic() - t0:.1f}s")

    def quiet(self, watch: Suggestions) -> None:
        latencies: list[float] = []
        client = Client(self.port)
        last = ""
        for i in range(self.o.quiet):
            self.settle(quiet_for=0.5)
            body = request_body(10_000 + i, self.o.seed)
            started = time.monotonic()
            status, data = client.post("/api/v1/team-requests", body, forwarded_for(200_000 + i))
            if status != 201:
                self.f.notes.append(f"quiet request {i} answered {status}: {data[:200]!r}")
                continue
            last = json.loads(data)["id"]
            watch.watch(last)
            seen = watch.wait([last], self.o.timeout)
            if seen:
                latencies.append(seen[last] - started)
        self.f.quiet_requests, self.f.quiet_with_suggestions = self.o.quiet, len(latencies)
        if latencies:
            self.f.quiet_p50_ms = statistics.median(latencies) * 1000
            self.f.quiet_max_ms = max(latencies) * 1000
        if len(latencies) < self.o.quiet:
            self.f.notes.append(f"quiet: {self.o.quiet - len(latencies)} requests had no suggestion in time")
        if last:
            self.f.quiet_api_suggestions = self.suggestions_on_api(last)
        say(
            f"quiet: {len(latencies)}/{self.o.quiet}, "
            f"p50 {self.f.quiet_p50_ms:.0f} ms, max {self.f.quiet_max_ms:.0f} ms"
        )

    def api_token(self) -> str:
        """A coordinator of every area, made with ``qimatch create-coordinator``, signed in on the API."""
        if getattr(self, "_token", None):
            return str(self._token)
        email, password = "bench@example.nhs.uk", "a long benchmark passphrase"
        from matcher.generate import AREAS

        areas = [x for code in AREAS for x in ("--area", code)]
        self.stack.run(
            "create-coordinator", qimatch("create-coordinator", "--email", email, "--password", password, *areas)
        )
        body: dict[str, str] = {"email": email, "password": password}
        uri = next((w for w in self.stack.log("create-coordinator").split() if w.startswith("otpauth://")), None)
        if uri:  # TOTP required (the default): the code an authenticator app would show now
            import pyotp

            body["otp"] = pyotp.parse_uri(uri).now()
        status, data = Client(self.port).post("/api/v1/auth/token", json.dumps(body).encode(), forwarded_for(250_000))
        if status != 200:
            raise SystemExit(f"could not sign in on the API: {status} {data[:300]!r}")
        self._token: str = json.loads(data)["token"]
        return self._token

    def suggestions_on_api(self, request_id: str) -> int:
        """What a coordinator sees on the API for one request: proof the figures are real suggestions."""
        status, data = Client(self.port).get(
            f"/api/v1/team-requests/{request_id}/suggestions", {"Authorization": f"Bearer {self.api_token()}"}
        )
        if status != 200:
            self.f.notes.append(f"suggestions on the API: {status} {data[:200]!r}")
            return -1
        return len(json.loads(data))

    def worker_rss(self) -> tuple[float, float]:
        """(largest pool process, main + pool) of the running worker, in MB, from /proc."""
        proc = self.stack.running["worker"]
        pool = children(proc.pid)
        largest = max((rss_kb(p) for p in pool), default=0)
        total = rss_kb(proc.pid) + sum(rss_kb(p) for p in pool)
        return largest / 1024, total / 1024

    def rss(self, watch: Suggestions) -> None:
        # A fresh worker on the grown population: whatever it keeps, it keeps all of them.
        self.stack.stop("worker")
        have = self.o.volunteers
        t0 = time.monotonic()
        load_volunteers(have, self.o.rss_volunteers - have, self.o.seed + 1)
        say(f"grew the population to {self.o.rss_volunteers:,} in {time.monotonic() - t0:.1f}s; worker restarted")
        self.stack.start("worker", qimatch("worker"))
        self.stack.wait_for_log("worker", " ready.", 120)
        self.settle()
        # Two requests one after the other, so both pool processes are likely to have worked.
        for i in range(2):
            _, started = self.submit_requests(20_000 + i, 1, watch)
            watch.wait(list(started), self.o.timeout)
            self.settle(quiet_for=0.5)
        time.sleep(1)
        self.f.worker_rss_volunteers = self.o.rss_volunteers
        self.f.worker_rss_mb, self.f.worker_rss_total_mb = self.worker_rss()
        say(f"worker RSS: largest pool process {self.f.worker_rss_mb:.0f} MB, all {self.f.worker_rss_total_mb:.0f} MB")

    def run(self) -> Figures:
        self.redis.flushdb()
        self.prepare()
        self.bare_flask()
        self.noop()
        self.redis.flushdb()
        self.start_service()
        self.intake()
        watch = Suggestions(self.database_url, self.o.poll_ms)
        try:
            self.warm_up(watch)
            self.burst(watch)
            self.quiet(watch)
            self.f.worker_rss_at_burst_size_mb = self.worker_rss()[0]
            if not self.o.skip_rss:
                self.rss(watch)
        finally:
            watch.close()
        return self.f


@contextlib.contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    name = f"qimatch_bench_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _terminate(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # so every finally below runs: processes stopped, database dropped


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    signal.signal(signal.SIGTERM, _terminate)
    work = Path(tempfile.mkdtemp(prefix="qimatch-pipeline-"))
    os.environ.setdefault("QIMATCH_SECRET_KEY", "pipeline-benchmark")
    figures: Figures | None = None
    try:
        with scratch_database(options.pg_admin_url) as url:
            run = Run(options, url, work)
            # This process reads the same settings as its children (loading, exec_argv).
            os.environ.update({k: v for k, v in run.env.items() if k.startswith("QIMATCH_")})
            say(f"machine: {run.f.machine}")
            try:
                figures = run.run()
                # The CPU is shared: how busy it was is part of reading the figures.
                figures.machine["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
            finally:
                run.stack.stop_all()
                with contextlib.suppress(Exception):
                    run.redis.flushdb()
    finally:
        if options.keep_logs:
            print(f"logs kept in {work / 'logs'}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    assert figures is not None  # run.run() returned, or its exception has left main already
    m = figures.machine
    print(
        f"\n{m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; load average (1, 5, 15 min) "
        f"{m['load_at_start']} at the start, {m.get('load_at_end')} at the end (the CPU may be shared)"
    )
    print(table(figures))
    for note in figures.notes:
        print(f"note: {note}")
    if options.json_out:
        Path(options.json_out).write_text(json.dumps(_json(asdict(figures)), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: the processes it started are stopped and its database dropped", file=sys.stderr)
        sys.exit(130)
