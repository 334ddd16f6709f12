"""The fast tier's fixtures: the use cases on in-memory fakes, and the real Flask app on SQLite
through the app factory's seam.

No PostgreSQL, Redis or worker: events are collected instead of published (what
the workers would do with them is the integration tier's business), and each test
starts from an empty programme with the vocabularies seeded by the migrations.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from matcher.bootstrap import Services, bootstrap
from matcher.config import Settings
from matcher.domain import Coordinator, Event
from tests.fakes import FakeClock, FakeUnitOfWork

# Tables a test may fill, emptied between tests (the vocabularies stay).
PROGRAMME_TABLES = (
    "calls",
    "payment_lines",
    "finance_exports",
    "activities",
    "payment_rates",
    "payment_accounts",
    "feedback_answers",
    "feedback_forms",
    "digests",
    "audit_entries",
    "session_bookings",
    "programme_sessions",
    "access_tokens",
    "retention_reviews",
    "follow_ups",
    "matches",
    "events",
    "deliveries",
    "rescores_due",
    "coordinators",
    "volunteers",
    "team_requests",
    "outreach_events",
    "meeting_suggestions",
    "team_chats",
    "content_versions",
    "heartbeats",
)


@pytest.fixture(autouse=True)
def _own_metrics_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands that start processes (``qimatch web``, ``worker``) set PROMETHEUS_MULTIPROC_DIR
    for their children; run in-process by a test, that would switch every later test's
    metrics to multiprocess mode. Each test starts without it, and leaves without it."""
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


# -- use cases on fakes ---------------------------------------------------------------------


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def coordinator(uow: FakeUnitOfWork) -> Coordinator:
    c = Coordinator(email="lead@nhs.example", password_hash="x", areas=["tower_hamlets"])
    uow.coordinators.add(c)
    return c


# -- the real app on SQLite ---------------------------------------------------------------


class Published(list[Event]):
    """What would have gone to the broker."""

    def __call__(self, events: Iterable[Event]) -> None:
        self.extend(events)


@pytest.fixture(scope="session")
def sqlite_services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    data = Path(tmp_path_factory.mktemp("qimatch-fast"))
    settings = Settings.from_env(
        {
            "QIMATCH_DATA_DIR": str(data),
            "QIMATCH_SECRET_KEY": "fast-tier",
            "QIMATCH_BASE_URL": "http://qimatch.test",
            # Sign-in's second factor is tested on its own (test_accounts.py): elsewhere, a password.
            "QIMATCH_REQUIRE_TOTP": "false",
            # Offers are matchable at once unless a test is about confirming email addresses.
            "QIMATCH_CONFIRM_EMAILS": "false",
        }
    )
    return bootstrap(settings, publisher=Published(), migrate_database=True)


@pytest.fixture
def services(sqlite_services: Services) -> Iterator[Services]:
    assert sqlite_services.engine is not None
    with sqlite_services.engine.begin() as conn:
        for table in PROGRAMME_TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    yield sqlite_services


@pytest.fixture
def app(services: Services) -> Flask:
    from web.app import create_app

    return create_app(services_=services, test_config={"TESTING": True, "SUBMISSION_RATE_LIMIT": "10000 per minute"})
