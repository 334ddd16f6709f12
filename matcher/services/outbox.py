"""The relay half of the transactional outbox.

Events are written in the same transaction as the change they describe; this
hands unpublished ones to the broker and only then marks them. A crash between
the two publishes an event twice (tasks are idempotent), never zero times; a
rolled-back change never wrote its event, so nothing is published for it.
"""

from __future__ import annotations

from matcher.domain import Event
from matcher.ports import Clock, Publisher, UnitOfWork


def relay(uow: UnitOfWork, publish: Publisher, clock: Clock, batch: int = 200) -> int:
    with uow:
        pending = uow.events.where(published_at=None, order_by="id", limit=batch)
    if pending:
        publish(pending)
        mark_published(uow, pending, clock)
    return len(pending)


def mark_published(uow: UnitOfWork, events: list[Event], clock: Clock) -> None:
    now = clock.now()
    with uow:
        for event in events:
            stored = uow.events.get(event.id)
            if stored is not None and stored.published_at is None:
                stored.published_at = now
        uow.commit()


__all__ = ["relay", "mark_published"]
