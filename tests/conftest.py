"""Session-wide: the API's answers in this run are checked against its OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest

from tests import api_answers

# Under pytest-xdist each worker checks its own answers; the controller reports them all.
_from_workers: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    api_answers.start()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    _from_workers.extend(getattr(node, "workeroutput", {}).get("api_undocumented", []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    problems = api_answers.undocumented()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand them to the controller
        workeroutput["api_undocumented"] = problems
        return
    problems = sorted({*problems, *_from_workers})
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "API answers missing from the OpenAPI document (tests/api_answers.py)", red=True)
            for line in problems:
                reporter.write_line(line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
