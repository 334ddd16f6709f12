"""`python -m benchmarks.pipeline` on the real stack: it prints every figure, and leaves
nothing behind (no database, no process), also when interrupted.

No timing is asserted: the figures are for people to read (docs/performance.md).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.real_parts import PG_ADMIN_URL, ensure_postgres

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
FIGURES = [
    "intake_bare_per_s",
    "intake_app_per_s",
    "intake_ratio",
    "noop_per_s",
    "burst_per_s",
    "pipeline_ratio",
    "burst_p50_s",
    "burst_p95_s",
    "burst_max_s",
    "quiet_p50_ms",
    "quiet_max_ms",
    "worker_rss_mb",
    "worker_rss_total_mb",
]
LINES = [
    "intake ratio (qimatch / bare Flask)",
    "pipeline ratio (burst /s / no-op /s)",
    "burst: submission to first suggestion p95",
    "quiet: 3 single requests, p50",
    "worker RSS at 3,000 volunteers, largest pool process",
]


def _benchmark(redis_url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.pipeline",
            "--quick",
            "--redis-url",
            redis_url,
            "--pg-admin-url",
            PG_ADMIN_URL,
            *args,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _database_exists(name: str) -> bool:
    engine = create_engine(PG_ADMIN_URL)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    engine.dispose()
    return found is not None


def _processes_using(name: str) -> list[int]:
    """Processes whose environment points at this database (the benchmark's web, worker, beat)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"/{name}\x00".encode() in environ:
            found.append(int(entry.name))
    return found


def test_prints_every_figure_and_leaves_nothing_behind(redis_url: str, tmp_path: Path) -> None:
    ensure_postgres()
    out = tmp_path / "figures.json"
    bench = _benchmark(redis_url, "--json", str(out))
    output, _ = bench.communicate(timeout=900)
    assert bench.returncode == 0, output[-4000:]

    for line in LINES:
        assert line in output, output[-4000:]
    figures = json.loads(out.read_text())
    for name in FIGURES:
        assert isinstance(figures[name], float) and math.isfinite(figures[name]), (name, figures[name])
    assert figures["burst_with_suggestions"] == figures["burst_requests"] == 20
    assert figures["quiet_with_suggestions"] == 3
    # What a coordinator sees on the API agrees: the measured request really has suggestions.
    assert figures["quiet_api_suggestions"] >= 1
    assert figures["machine"]["cores"] == os.cpu_count()
    assert not _database_exists(f"qimatch_bench_{bench.pid}")
    assert _processes_using(f"qimatch_bench_{bench.pid}") == []


def test_interrupted_it_stops_what_it_started_and_drops_its_database(redis_url: str) -> None:
    ensure_postgres()
    bench = _benchmark(redis_url)
    name = f"qimatch_bench_{bench.pid}"
    assert bench.stdout is not None
    seen = []
    for line in bench.stdout:  # until the service is up: web, worker and beat running
        seen.append(line)
        if "worker and beat are up" in line:
            break
    else:
        raise AssertionError("".join(seen)[-4000:])
    assert _processes_using(name)

    bench.send_signal(signal.SIGINT)  # Ctrl-C
    rest, _ = bench.communicate(timeout=120)
    assert bench.returncode != 0
    deadline = time.monotonic() + 10
    while _processes_using(name) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_using(name) == [], "".join(seen) + rest
    assert not _database_exists(name)


def test_the_ceilings_run_under_the_very_commands_qimatch_runs() -> None:
    """The bare Flask app gets `qimatch web`'s gunicorn command with only the app swapped,
    and the no-op worker `qimatch worker`'s command with only the no-op module added."""
    from benchmarks.pipeline import bare_flask_argv, exec_argv

    web = exec_argv("web", "--host", "127.0.0.1", "--port", "8123")
    assert web is not None and "web.wsgi:app" in web
    assert bare_flask_argv("127.0.0.1", 8123) == [
        "benchmarks.bare_flask:app" if a == "web.wsgi:app" else a for a in web
    ]
    worker = exec_argv("worker")
    assert worker is not None and "worker" in worker
