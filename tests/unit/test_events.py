"""Events are a closed set: every kind has a task decision and timeline words, and nothing else is an event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from matcher.domain import RESCORES, Event, EventKind
from web.pages import EVENT_WORDS, describe
from workers.app import celery_app
from workers.publisher import TASKS_FOR_EVENT, celery_publisher

RESCORE_TASKS = {"qimatch.suggest_for_request", "qimatch.rescore_for_volunteer"}


def test_every_kind_has_a_task_decision_and_words() -> None:
    assert set(TASKS_FOR_EVENT) == set(EventKind)
    assert set(EVENT_WORDS) == set(EventKind)
    for kind in EventKind:
        assert EVENT_WORDS[kind] and not EVENT_WORDS[kind].startswith(kind.value)


def test_every_task_an_event_sets_off_exists() -> None:
    import workers.tasks  # noqa: F401 - registers the tasks

    named = {name for tasks in TASKS_FOR_EVENT.values() for name, _ in tasks}
    assert named and named <= set(celery_app.tasks)


def test_the_events_that_wake_a_rescore_are_the_ones_that_leave_a_rescore_due() -> None:
    # A kind that woke the rescore task but left no row would be rescored by nobody
    # (the task only drains rows); a row with no task would wait for the periodic drain.
    wakes = {kind for kind, tasks in TASKS_FOR_EVENT.items() for name, _ in tasks if name in RESCORE_TASKS}
    assert wakes == set(RESCORES)


def test_an_event_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        Event("match.teleported", datetime.now(UTC))
    # Kinds are kept as the plain strings the database holds.
    event = Event(EventKind.MATCH_APPROVED, datetime.now(UTC))
    assert type(event.kind) is str and event.kind == "match.approved"
    assert describe(event) == "Approved by a coordinator"


def test_the_publisher_sends_ids_only_and_nothing_for_a_timeline_entry() -> None:
    sent: list[tuple[str, list[str], dict[str, str]]] = []

    class Recorder:
        def send_task(self, name: str, args: list[str], headers: dict[str, str]) -> None:
            sent.append((name, args, headers))

    publish = celery_publisher(Recorder())  # type: ignore[arg-type]
    now = datetime.now(UTC)
    submitted = Event(EventKind.REQUEST_SUBMITTED, now, team_request_id="r1", id=7)
    publish([submitted, Event(EventKind.MATCH_CLOSED, now)])
    # The event's id travels in the headers, so the task's log lines name what caused them.
    assert sent == [("qimatch.suggest_for_request", ["r1"], {"qimatch_event": "7"})]
