"""The transactional outbox: the web's fast path and the relay behind it.

Events are written in the same transaction as the change they describe. Right
after that commit the process publishes them (the fast path) and hands their
ids to ``PublishedMarks``, which marks them published in bulk, off the request
path: a submission costs one durable commit, not two.

The relay (beat) publishes what the fast path left: events still unpublished
after a grace period (a broker that was down at commit time, a process that
died before its marks were written). A lost mark therefore means one second
publish, which every task tolerates (they are idempotent); an event is never
published zero times. A rolled-back change never wrote its event, so nothing
is published for it.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta

from matcher.domain import Event
from matcher.ports import Clock, Publisher, UnitOfWork

log = logging.getLogger(__name__)

# The Settings default (QIMATCH_RELAY_GRACE_SECONDS); beat's relay_outbox passes the setting.
RELAY_GRACE_SECONDS = 10.0


def relay(
    uow: UnitOfWork, publish: Publisher, clock: Clock, batch: int = 200, grace_seconds: float = RELAY_GRACE_SECONDS
) -> int:
    """Publish, then mark, the unpublished events older than the grace period; how many."""
    cutoff = clock.now() - timedelta(seconds=grace_seconds)
    with uow:
        pending = uow.events.where(published_at=None, order_by="id", limit=batch)
    # Younger events were published at commit and are being marked; ids follow commit order
    # closely enough that the old ones come first, so a batch of young ones hides none.
    due = [event for event in pending if event.occurred_at <= cutoff]
    if due:
        publish(due)
        mark_published(uow, due, clock)
    return len(due)


def mark_published(uow: UnitOfWork, events: list[Event], clock: Clock) -> None:
    now = clock.now()
    with uow:
        ids = [event.id for event in events]
        for stored in uow.events.where(id=ids, published_at=None, order_by="id"):
            stored.published_at = now
        uow.commit()


MarkIds = Callable[[list[int]], None]


class PublishedMarks:
    """Events published on the fast path, marked in bulk by one thread per process.

    ``add`` only queues ids (no I/O on the request path); every ``every_seconds``
    the thread hands all queued ids to ``mark`` at once (one UPDATE). If the
    process dies first, the ids are simply lost and the relay publishes those
    events again after its grace period.
    """

    def __init__(self, mark: MarkIds, every_seconds: float) -> None:
        self.mark = mark
        self.every_seconds = every_seconds
        self._lock = threading.Lock()
        self._pending: list[int] = []
        self._starting = threading.Lock()
        self._pid: int | None = None  # the process whose thread is running
        os.register_at_fork(after_in_child=self._after_fork)

    def add(self, ids: Iterable[int | None]) -> None:
        fresh = [i for i in ids if i is not None]
        if not fresh:
            return
        self._ensure_thread()
        with self._lock:
            self._pending.extend(fresh)

    def flush(self) -> int:
        """Mark everything queued now, in this thread; how many ids were handed over."""
        with self._lock:
            ids, self._pending = self._pending, []
        if ids:
            try:
                self.mark(ids)
            except Exception:  # noqa: BLE001 - a lost mark costs a second publish, nothing more
                log.warning("marking %d published events failed; the relay will publish them again", len(ids))
        return len(ids)

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid():
            return
        with self._starting:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="qimatch-published-marks", daemon=True).start()
            atexit.register(self.flush)  # best effort: what is still queued at exit

    def _after_fork(self) -> None:
        # Threads do not survive a fork, a lock may have been held by one, and the ids
        # queued before it are the parent's to mark: the child starts afresh.
        self._lock = threading.Lock()
        self._starting = threading.Lock()
        self._pending = []
        self._pid = None

    def _run(self) -> None:
        while True:
            time.sleep(self.every_seconds)
            self.flush()


__all__ = ["relay", "mark_published", "PublishedMarks", "RELAY_GRACE_SECONDS"]
