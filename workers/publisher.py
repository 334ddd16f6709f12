"""Turning outbox events into task messages: IDs in, nothing personal."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from celery import Celery

from matcher.domain import Event

# Which tasks an event sets off, and the IDs each takes from the event.
TASKS_FOR_EVENT: dict[str, list[tuple[str, Callable[[Event], list[str]]]]] = {
    "request.submitted": [("qimatch.suggest_for_request", lambda e: [e.team_request_id or ""])],
    "match.rejected": [("qimatch.suggest_for_request", lambda e: [e.team_request_id or ""])],
    "request.reopened": [("qimatch.suggest_for_request", lambda e: [e.team_request_id or ""])],
    "volunteer.registered": [("qimatch.rescore_for_volunteer", lambda e: [e.volunteer_id or ""])],
    "volunteer.updated": [("qimatch.rescore_for_volunteer", lambda e: [e.volunteer_id or ""])],
    # A coordinator excluded a suggestion's team for the volunteer: the rescore drops it.
    "volunteer.team_excluded": [("qimatch.rescore_for_volunteer", lambda e: [e.volunteer_id or ""])],
    # The volunteer now has less capacity: their other suggestions may change.
    # (The introductions the approval owes go by their own email.owed events.)
    "match.approved": [("qimatch.rescore_for_volunteer", lambda e: [e.volunteer_id or ""])],
    # A timeline entry only: the data carries codes, and nothing is sent.
    "match.suggestion_withdrawn": [],
    # Every email, whoever owes it: the key names it (IDs only).
    "email.owed": [("qimatch.send_email", lambda e: [str(e.data["key"])])],
}


def celery_publisher(app: Celery) -> Callable[[Iterable[Event]], None]:
    def publish(events: Iterable[Event]) -> None:
        for event in events:
            for task_name, args in TASKS_FOR_EVENT.get(event.kind, []):
                app.send_task(task_name, args=args(event))

    return publish
