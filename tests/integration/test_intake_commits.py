"""A submission costs one durable commit on PostgreSQL; its events are published at once and
marked published later, in bulk; an event whose mark was lost is published again by the relay,
after the grace period only."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from sqlalchemy import event, text

from matcher.adapters import published
from matcher.bootstrap import Services
from matcher.domain import EventKind
from matcher.services import outbox
from tests import factories
from tests.fakes import FakeClock
from web.app import create_app
from workers.app import EMAIL_QUEUE, SCORING_QUEUE, make_celery
from workers.publisher import TASKS_FOR_EVENT, celery_publisher
from workers.wiring import wire

pytestmark = pytest.mark.integration


class Statements:
    """What this thread said to PostgreSQL: the test client runs each request here, and the
    test flushes its held marks here. (Counting other threads too once counted the marking
    thread of an app an earlier test left running in this process.)"""

    def __init__(self) -> None:
        self.here = threading.get_ident()
        self.commits_here = 0
        self.marking_updates = 0

    def on_commit(self, conn: Any) -> None:
        if threading.get_ident() == self.here:
            self.commits_here += 1

    def on_execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        marking = statement.lstrip().upper().startswith("UPDATE EVENTS SET PUBLISHED_AT")
        if marking and threading.get_ident() == self.here:
            self.marking_updates += 1


@pytest.fixture
def held_marks(services: Services) -> outbox.PublishedMarks:
    """Marks the test hands over itself (flush), as if the marking thread had not run yet."""
    assert services.engine is not None
    return outbox.PublishedMarks(published.mark_published(services.engine, services.clock.now), every_seconds=3600)


@pytest.fixture
def web_services(services: Services, held_marks: outbox.PublishedMarks, clean: None) -> Iterator[Services]:
    wired = wire(services.settings, celery=make_celery(services.settings), marks=held_marks)
    yield wired
    held_marks.flush()  # whatever a test held back, before its database goes
    assert wired.engine is not None
    wired.engine.dispose()


@pytest.fixture
def statements(web_services: Services, services: Services) -> Iterator[Statements]:
    seen = Statements()
    engines = [web_services.engine, services.engine]
    for engine in engines:
        event.listen(engine, "commit", seen.on_commit)
        event.listen(engine, "before_cursor_execute", seen.on_execute)
    yield seen
    for engine in engines:
        event.remove(engine, "commit", seen.on_commit)
        event.remove(engine, "before_cursor_execute", seen.on_execute)


def unpublished(services: Services) -> int:
    assert services.engine is not None
    with services.engine.connect() as conn:
        return int(conn.execute(text("select count(*) from events where published_at is null")).scalar() or 0)


def queued(redis_url: str) -> int:
    """Task messages waiting on the broker, whichever queue each went to."""
    broker = redis.Redis.from_url(redis_url)
    return sum(int(broker.llen(queue)) for queue in (EMAIL_QUEUE, SCORING_QUEUE))


def tasks_for(services: Services) -> int:
    """How many task messages one publish of every stored event makes."""
    with services.uow() as uow:
        return sum(len(TASKS_FOR_EVENT[EventKind(e.kind)]) for e in uow.events.where(order_by="id"))


def test_each_submission_is_one_commit_published_at_once_and_marked_later_in_bulk(
    web_services: Services,
    services: Services,
    held_marks: outbox.PublishedMarks,
    statements: Statements,
    redis_url: str,
) -> None:
    client = create_app(services_=web_services, test_config={"TESTING": True}).test_client()
    for _ in range(3):
        assert client.post("/api/v1/volunteers", json=factories.offer()).status_code == 201
    assert client.post("/api/v1/team-requests", json=factories.team_request()).status_code == 201

    assert statements.commits_here == 4  # one per submission
    assert queued(redis_url) == tasks_for(services) > 0  # each one's tasks are on the broker already
    assert unpublished(services) == 4 and statements.marking_updates == 0  # marking is not on the request path

    held_marks.flush()  # what the marking thread does every half second
    assert unpublished(services) == 0
    assert statements.marking_updates == 1  # all four in one UPDATE


def test_an_event_whose_mark_was_lost_is_published_again_after_the_grace_period_only(
    web_services: Services, services: Services, redis_url: str
) -> None:
    client = create_app(services_=web_services, test_config={"TESTING": True}).test_client()
    assert client.post("/api/v1/volunteers", json=factories.offer()).status_code == 201
    once = tasks_for(services)
    assert queued(redis_url) == once > 0
    # The web process dies before its marks are written: held_marks is never flushed.

    grace = services.settings.relay_grace_seconds
    publish = celery_publisher(make_celery(services.settings))
    soon = FakeClock(services.clock.now() + timedelta(seconds=grace / 2))
    assert outbox.relay(services.uow(), publish, soon, grace_seconds=grace) == 0
    assert queued(redis_url) == once and unpublished(services) == 1

    later = FakeClock(services.clock.now() + timedelta(seconds=grace + 1))
    assert outbox.relay(services.uow(), publish, later, grace_seconds=grace) == 1
    assert queued(redis_url) == 2 * once  # a second publish: harmless, the task is idempotent
    assert unpublished(services) == 0
    assert outbox.relay(services.uow(), publish, later, grace_seconds=grace) == 0
