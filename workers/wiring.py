"""Services with the Celery publisher: what web and workers both start from."""

from __future__ import annotations

from collections.abc import Iterable

from celery import Celery

from matcher.adapters import published
from matcher.bootstrap import Services, bootstrap
from matcher.config import Settings
from matcher.domain import Event
from matcher.services.outbox import PublishedMarks
from workers.publisher import celery_publisher


def wire(
    settings: Settings | None = None,
    celery: Celery | None = None,
    marks: PublishedMarks | None = None,
    **kwargs: object,
) -> Services:
    """The real services; ``marks`` to watch or hold back the marking of published events (tests)."""
    if celery is None:
        from workers.app import celery_app as celery
    # send_task takes a connection from the app's producer pool and gives it back: one
    # broker connection per process (and thread), reused by every publish.
    publish = celery_publisher(celery)

    def publish_after_commit(events: Iterable[Event]) -> None:
        # After the one durable commit: publish now, mark later in bulk (off the request path).
        events = list(events)
        publish(events)
        assert marks is not None
        marks.add(event.id for event in events)

    services = bootstrap(settings, publisher=publish_after_commit, **kwargs)  # type: ignore[arg-type]
    if marks is None:
        assert services.engine is not None
        marks = PublishedMarks(
            published.mark_published(services.engine, services.clock.now), services.settings.mark_published_seconds
        )
    return services
