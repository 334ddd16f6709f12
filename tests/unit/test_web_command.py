"""`qimatch web` runs gunicorn's threaded workers, their numbers being options."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from web import cli


def test_the_gunicorn_command_line_is_threaded_workers_bound_to_the_app() -> None:
    assert cli.gunicorn_argv("web.wsgi:app", "127.0.0.1", 8000, 3, 6) == [
        "-k",
        "gthread",
        "-w",
        "3",
        "--threads",
        "6",
        "-b",
        "127.0.0.1:8000",
        "--logger-class",
        "web.gunicorn_logging.RedactingLogger",
        "web.wsgi:app",
    ]


def run_web(monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
    started: list[str] = []

    def execvp(file: str, argv: list[str]) -> None:
        started.extend(argv)

    monkeypatch.setattr(cli.os, "execvp", execvp)
    result = CliRunner().invoke(cli.main, ["web", *args])
    assert result.exit_code == 0, result.output
    return started


def test_qimatch_web_starts_gunicorn_with_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = cli.gunicorn_argv("web.wsgi:app", "0.0.0.0", 8000, cli.WEB_WORKERS, cli.WEB_THREADS)
    assert run_web(monkeypatch) == [sys.executable, "-m", "gunicorn", *expected]
    assert cli.WEB_THREADS > 1  # a submission mostly waits on PostgreSQL and Redis


def test_workers_and_threads_are_options(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = run_web(monkeypatch, "--workers", "4", "--threads", "16", "--port", "9000")
    assert argv[3:] == cli.gunicorn_argv("web.wsgi:app", "0.0.0.0", 9000, 4, 16)


def test_the_access_log_is_an_option_and_its_logger_redacts(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = run_web(monkeypatch, "--access-log", "-")
    assert argv[3:5] == ["--access-logfile", "-"]
    assert argv[argv.index("--logger-class") + 1] == "web.gunicorn_logging.RedactingLogger"


def test_gunicorns_logger_redacts_every_atom_a_format_can_name() -> None:
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from web.gunicorn_logging import RedactingLogger

    logger = RedactingLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/coordinator/volunteers?q=ann%40example.org",
        "PATH_INFO": "/coordinator/volunteers",
        "QUERY_STRING": "q=ann%40example.org",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": "http://x/coordinator/volunteers?q=ann",
    }
    request = SimpleNamespace(headers=[("COOKIE", "session=s3cret"), ("REFERER", environ["HTTP_REFERER"])])
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    atoms = logger.atoms(response, request, environ, timedelta(seconds=1))
    written = " ".join(str(v) for v in atoms.values())
    assert "ann" not in written and "s3cret" not in written
    assert atoms["r"] == "GET /coordinator/volunteers?[redacted] HTTP/1.1" and atoms["U"] == "/coordinator/volunteers"
