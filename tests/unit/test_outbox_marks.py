"""The outbox after the fast path: published events are marked in bulk later, and the relay
publishes only what has stayed unpublished past its grace period."""

from __future__ import annotations

import threading

from matcher.domain import Event, EventKind
from matcher.services import outbox
from tests.fakes import FakeClock, FakeUnitOfWork


def stored_event(uow: FakeUnitOfWork, clock: FakeClock, n: int) -> Event:
    event = Event(EventKind.VOLUNTEER_REGISTERED, clock.now(), id=n, volunteer_id=f"v{n}")
    uow.events.add(event)
    return event


class Published(list[Event]):
    def __call__(self, events: list[Event]) -> None:
        self.extend(events)


def test_the_relay_leaves_what_the_web_just_published_and_takes_it_after_the_grace_period() -> None:
    uow, clock, published = FakeUnitOfWork(), FakeClock(), Published()
    event = stored_event(uow, clock, 1)  # published at commit; its mark was lost (the process died)

    clock.advance(seconds=9)
    assert outbox.relay(uow, published, clock, grace_seconds=10) == 0
    assert published == [] and event.published_at is None

    clock.advance(seconds=2)
    assert outbox.relay(uow, published, clock, grace_seconds=10) == 1
    assert published == [event]  # the second, harmless publish
    assert event.published_at == clock.now()
    assert outbox.relay(uow, published, clock, grace_seconds=10) == 0


def test_a_batch_of_young_events_does_not_hide_an_old_one() -> None:
    uow, clock, published = FakeUnitOfWork(), FakeClock(), Published()
    old = stored_event(uow, clock, 1)
    clock.advance(seconds=30)
    young = [stored_event(uow, clock, n) for n in range(2, 6)]
    assert outbox.relay(uow, published, clock, batch=3, grace_seconds=10) == 1
    assert published == [old] and all(e.published_at is None for e in young)


def test_published_events_are_marked_together_in_one_call() -> None:
    marked: list[list[int]] = []
    marks = outbox.PublishedMarks(marked.append, every_seconds=3600)
    for commit in ([1], [2, 3], [4]):  # three requests' commits
        marks.add(commit)
    assert marked == []  # nothing on the request path
    assert marks.flush() == 4
    assert marked == [[1, 2, 3, 4]]
    assert marks.flush() == 0 and marked == [[1, 2, 3, 4]]


def test_the_marking_thread_marks_without_being_asked() -> None:
    marked: list[list[int]] = []
    done = threading.Event()

    def mark(ids: list[int]) -> None:
        marked.append(ids)
        done.set()

    marks = outbox.PublishedMarks(mark, every_seconds=0.05)
    marks.add([7, 8])
    assert done.wait(timeout=30)
    assert marked == [[7, 8]]


def test_a_failed_mark_is_dropped_and_left_to_the_relay() -> None:
    calls: list[list[int]] = []

    def database_down(ids: list[int]) -> None:
        calls.append(ids)
        raise ConnectionError("the database is unreachable")

    marks = outbox.PublishedMarks(database_down, every_seconds=3600)
    marks.add([1, 2])
    assert marks.flush() == 2  # logged, not raised
    assert marks.flush() == 0 and calls == [[1, 2]]


def test_the_grace_period_is_the_setting_for_the_relay_as_beat_runs_it(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from matcher.config import Settings
    from workers import tasks

    settings = Settings.from_env(
        {"QIMATCH_DATA_DIR": str(tmp_path), "QIMATCH_SECRET_KEY": "k", "QIMATCH_RELAY_GRACE_SECONDS": "60"}
    )
    real = tasks.services()  # maps the domain classes first: the event below is made after
    uow, clock, published = FakeUnitOfWork(), FakeClock(), Published()
    stored_event(uow, clock, 1)
    beat_side = dataclasses.replace(real, settings=settings, uow_factory=lambda: uow, clock=clock)
    monkeypatch.setattr(tasks, "services", lambda: beat_side)
    monkeypatch.setattr(tasks, "celery_publisher", lambda app: published)
    clock.advance(seconds=59)
    tasks.relay_outbox()
    assert published == []  # younger than the setting's 60 s: left to the publisher at commit
    clock.advance(seconds=2)
    tasks.relay_outbox()
    assert len(published) == 1
