"""The transactional outbox: a publish that fails after commit loses nothing; a rollback publishes nothing."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import text

from matcher.bootstrap import Services, bootstrap
from matcher.domain import Event, MatchStatus, Volunteer
from matcher.services import intake, outbox
from tests import factories
from tests.integration.conftest import Processes, eventually
from workers.app import make_celery
from workers.publisher import celery_publisher

pytestmark = pytest.mark.integration


def broker_down(events: object) -> None:
    raise ConnectionError("the broker is unreachable")


def test_a_publish_that_fails_after_commit_is_published_later_by_the_relay(
    services: Services, processes: Processes, clean: None
) -> None:
    # Web processes whose broker is down at commit time: the change is stored, the publish fails.
    offline = bootstrap(services.settings, publisher=broker_down)
    intake.register_volunteer(offline.uow(), factories.offer(), offline.clock)
    request = intake.submit_request(offline.uow(), factories.team_request(), offline.clock)
    with services.uow() as uow:
        pending = uow.events.where(published_at=None)
        assert {e.kind for e in pending} == {"volunteer.registered", "request.submitted"}

    # The broker is back: beat's relay publishes the outbox and the worker acts on it.
    processes.worker()
    processes.beat()

    def suggested() -> int:
        with services.uow() as uow:
            return uow.matches.count(team_request_id=request.id, status=MatchStatus.SUGGESTED)

    eventually(suggested, seconds=120)
    with services.uow() as uow:
        assert uow.events.count(published_at=None, kind=["volunteer.registered", "request.submitted"]) == 0


def test_a_rolled_back_change_publishes_nothing(services: Services, redis_url: str, clean: None) -> None:
    queue = redis.Redis.from_url(redis_url)
    now = services.clock.now()
    offer = factories.offer()
    del offer["consent"]
    with pytest.raises(RuntimeError), services.uow() as uow:
        volunteer = Volunteer(**offer, consent_version="v1", consent_given_at=now, created_at=now, updated_at=now)
        uow.volunteers.add(volunteer)
        uow.session.flush()  # type: ignore[attr-defined]  # written, inside the transaction
        uow.events.add(Event("volunteer.registered", services.clock.now(), volunteer_id=volunteer.id))
        raise RuntimeError("something failed before commit")

    assert services.engine is not None
    with services.engine.connect() as conn:
        assert conn.execute(text("select count(*) from events")).scalar() == 0
        assert conn.execute(text("select count(*) from volunteers")).scalar() == 0
    celery = make_celery(services.settings)
    assert outbox.relay(services.uow(), celery_publisher(celery), services.clock) == 0
    assert queue.llen("celery") == 0
