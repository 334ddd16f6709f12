"""Marking outbox events published: one UPDATE for a whole batch of ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, update

from matcher.adapters import orm

# Well under every driver's limit on bound parameters (SQLite's was 999).
CHUNK = 500


def mark_published(engine: Engine, now: Callable[[], datetime]) -> Callable[[list[int]], None]:
    """A ``PublishedMarks`` mark function on this database."""
    c = orm.events.c

    def mark(ids: list[int]) -> None:
        at = now()
        with engine.begin() as conn:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                # published_at IS NULL: the relay may have marked some of them already.
                unmarked = update(orm.events).where(c.id.in_(chunk), c.published_at.is_(None))
                conn.execute(unmarked.values(published_at=at))

    return mark
