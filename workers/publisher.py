"""Turning outbox events into task messages: IDs in, nothing personal."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from celery import Celery

from matcher.domain import Event, EventKind

log = logging.getLogger(__name__)
Task = tuple[str, Callable[[Event], list[str]]]

# Which tasks each kind of event sets off, and the IDs each takes from the event. Every
# kind is listed, [] where nothing runs: a test holds this map to EventKind, so a new
# kind cannot be forgotten here.
TASKS_FOR_EVENT: dict[EventKind, list[Task]] = {
    EventKind.REQUEST_SUBMITTED: [("qimatch.suggest_for_request", lambda e: [e.team_request_id or ""])],
    EventKind.MATCH_REJECTED: [("qimatch.suggest_for_request", lambda e: [e.team_request_id or ""])],
    EventKind.REQUEST_REOPENED: [("qimatch.suggest_for_request", lambda e: [e.team_request_id or ""])],
    EventKind.VOLUNTEER_REGISTERED: [("qimatch.rescore_for_volunteer", lambda e: [e.volunteer_id or ""])],
    EventKind.VOLUNTEER_UPDATED: [("qimatch.rescore_for_volunteer", lambda e: [e.volunteer_id or ""])],
    # An unconfirmed offer's address was confirmed: it is matchable from now on.
    EventKind.VOLUNTEER_EMAIL_CONFIRMED: [("qimatch.rescore_for_volunteer", lambda e: [e.volunteer_id or ""])],
    # A coordinator excluded a suggestion's team for the volunteer: the rescore drops it.
    EventKind.VOLUNTEER_TEAM_EXCLUDED: [("qimatch.rescore_for_volunteer", lambda e: [e.volunteer_id or ""])],
    # The volunteer now has less capacity: their other suggestions may change.
    # (The introductions the approval owes go by their own email.owed events.)
    EventKind.MATCH_APPROVED: [("qimatch.rescore_for_volunteer", lambda e: [e.volunteer_id or ""])],
    # A timeline entry only: the data carries codes, and nothing is sent.
    EventKind.MATCH_SUGGESTION_WITHDRAWN: [],
    # Every email, whoever owes it: the key names it (IDs only).
    EventKind.EMAIL_OWED: [("qimatch.send_email", lambda e: [str(e.data["key"])])],
    # Every text, by the same delivery loop: its key starts "text:".
    EventKind.TEXT_OWED: [("qimatch.send_text", lambda e: [str(e.data["key"])])],
    # Timeline entries only. Capacity given back (a close, a withdrawal) comes with a
    # request.reopened event where it matters; a pause or erasure withdraws the
    # suggestions in the same transaction; emails are owed by their own events.
    EventKind.REQUEST_FILLED: [],
    EventKind.REQUEST_CLOSED: [],
    EventKind.VOLUNTEER_PAUSED: [],
    EventKind.VOLUNTEER_SIGNED_IN: [],
    EventKind.VOLUNTEER_ERASED: [],
    EventKind.VOLUNTEER_CALL_REQUESTED: [],
    EventKind.MATCH_SUGGESTED: [],
    EventKind.MATCH_CREATED: [],
    EventKind.MATCH_INTRODUCED: [],
    EventKind.MATCH_CLOSED: [],
    EventKind.MATCH_MEETING_CHANGED: [],
    EventKind.EMAIL_SENT: [],
    EventKind.EMAIL_FAILED: [],
    EventKind.EMAIL_UNCERTAIN: [],
    EventKind.TEXT_SENT: [],
    EventKind.TEXT_FAILED: [],
    EventKind.TEXT_UNCERTAIN: [],
    EventKind.TEXT_UNDELIVERED: [],
    EventKind.FOLLOW_UP_SCHEDULED: [],
    EventKind.FOLLOW_UP_INVITATION_DUE: [],
    EventKind.FOLLOW_UP_REMINDER_DUE: [],
    EventKind.FOLLOW_UP_CANCELLED: [],
    EventKind.VOCABULARY_TERM_SET: [],
    # Timeline entries only: the forms, reminders and alerts go by their own email.owed events.
    EventKind.FEEDBACK_ASKED: [],
    EventKind.FEEDBACK_REMINDER_DUE: [],
    EventKind.FEEDBACK_ANSWERED: [],
    EventKind.FEEDBACK_HANDLED: [],
    # Timeline entries only: the invitations are owed by their own email.owed events.
    EventKind.TEAM_CHAT_BOOKED: [],
    EventKind.TEAM_CHAT_CANCELLED: [],
    # Retention's timeline entries: its question goes by its own email.owed event.
    EventKind.RETENTION_ASKED: [],
    EventKind.RETENTION_KEPT: [],
    EventKind.REQUEST_CONTACT_ERASED: [],
    # A verified training opens the roles that require it: rescore the volunteer.
    EventKind.VOLUNTEER_TRAINING_VERIFIED: [("qimatch.rescore_for_volunteer", lambda e: [e.volunteer_id or ""])],
    # Timeline entries only: the emails a session owes go by their own email.owed events.
    EventKind.SESSION_SCHEDULED: [],
    EventKind.SESSION_CHANGED: [],
    EventKind.SESSION_CANCELLED: [],
    EventKind.SESSION_BOOKED: [],
    EventKind.SESSION_WAITLISTED: [],
    EventKind.SESSION_MOVED_UP: [],
    EventKind.SESSION_BOOKING_CANCELLED: [],
    EventKind.SESSION_ATTENDANCE_MARKED: [],
    # Timeline entries only: a call is a row on the coordinators' call list, not a task.
    EventKind.CALL_OWED: [],
    EventKind.CALL_MADE: [],
}


def celery_publisher(app: Celery) -> Callable[[Iterable[Event]], None]:
    def publish(events: Iterable[Event]) -> None:
        for event in events:
            tasks = TASKS_FOR_EVENT[EventKind(event.kind)]
            if tasks:
                # Ids and codes only: the event's id, kind and subjects (never its people's details).
                log.info("event %s %s published%s", event.id, event.kind, _subjects(event))
            for task_name, args in tasks:
                # The event's id rides in the message's headers (the request id is added by
                # before_task_publish), so the task's log lines name what caused them.
                headers = {"qimatch_event": str(event.id)}
                if event.request_id:  # the relay's later publish too, not only the web's at commit
                    headers["qimatch_request"] = event.request_id
                app.send_task(task_name, args=args(event), headers=headers)

    return publish


def _subjects(event: Event) -> str:
    named = {
        "request": event.team_request_id,
        "volunteer": event.volunteer_id,
        "match": event.match_id,
        "key": event.data.get("key"),
    }
    return "".join(f" {name}={value}" for name, value in named.items() if value)
