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
