"""Session-wide: the API's answers in this run are checked against its OpenAPI document."""

from __future__ import annotations

import pytest

from tests import api_answers


def pytest_configure(config: pytest.Config) -> None:
    api_answers.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    problems = api_answers.undocumented()
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "API answers missing from the OpenAPI document (tests/api_answers.py)", red=True)
            for line in problems:
                reporter.write_line(line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
