"""Services with the Celery publisher: what web and workers both start from."""

from __future__ import annotations

from collections.abc import Iterable

from celery import Celery

from matcher.bootstrap import Services, bootstrap
from matcher.config import Settings
from matcher.domain import Event
from matcher.services import outbox
from workers.publisher import celery_publisher


def wire(settings: Settings | None = None, celery: Celery | None = None, **kwargs: object) -> Services:
    if celery is None:
        from workers.app import celery_app as celery
    publish = celery_publisher(celery)
    services: Services | None = None

    def publish_after_commit(events: Iterable[Event]) -> None:
        events = list(events)
        publish(events)
        assert services is not None
        outbox.mark_published(services.uow(), events, services.clock)

    services = bootstrap(settings, publisher=publish_after_commit, **kwargs)  # type: ignore[arg-type]
    return services
