"""The chaos scenarios use the integration suite's real parts (PostgreSQL, Redis,
Celery processes, the SMTP sink), and each is named in the tally as it runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chaos import tally
from tests.integration.conftest import (  # noqa: F401 - fixtures, found by pytest by name
    app,
    clean,
    notify,
    pg_url,
    processes,
    redis_url,
    services,
    smtp,
    stack_env,
    worker,
)


@pytest.fixture(autouse=True)
def scenario(request: pytest.FixtureRequest) -> Iterator[None]:
    with tally.scenario(request.node.nodeid.split("::", 1)[-1]):
        yield
