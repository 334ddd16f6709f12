"""The periodic schedule: the relay, the follow-up and session-reminder dispatchers, the
email sweep, retention, paused volunteers' return and the whole-programme solve.

Nothing days ahead is a Celery ETA: follow-ups are rows with due times that the
dispatcher finds each minute, so a broker restart cannot lose them.
"""

from __future__ import annotations

from typing import Any

from matcher.config import Settings

# The queues workers consume (workers.app names them); each gets its own canary.
QUEUES = ("email", "scoring")


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        # Publishes events whose fast-path publish failed (broker down at commit time).
        "relay-outbox": {"task": "qimatch.relay_outbox", "schedule": settings.relay_seconds},
        # Follow-up invitations and reminders whose due time has come become owed emails.
        "dispatch-follow-ups": {"task": "qimatch.dispatch_follow_ups", "schedule": settings.dispatch_seconds},
        # Feedback forms once a chat's time has passed, and each form's one reminder.
        "dispatch-feedback": {"task": "qimatch.dispatch_feedback", "schedule": settings.dispatch_seconds},
        # Each coordinator's daily digest, at the time they chose.
        "dispatch-digests": {"task": "qimatch.dispatch_digests", "schedule": settings.dispatch_seconds},
        # Session reminders the day before: due booking rows, each claimed once.
        "dispatch-session-reminders": {
            "task": "qimatch.dispatch_session_reminders",
            "schedule": settings.dispatch_seconds,
        },
        # Emails owed or claimed but not sent within the lease are queued again (or given up).
        "sweep-stalled-emails": {"task": "qimatch.sweep_stalled", "schedule": settings.dispatch_seconds},
        # People inactive for the retention period asked, and erased a month later unless they
        # answer; closed requests' contacts anonymised. Dates in months: hourly is plenty.
        "dispatch-retention": {"task": "qimatch.dispatch_retention", "schedule": settings.retention_seconds},
        # A pause that has reached its end date ends; hourly is fine for a date.
        "resume-paused-volunteers": {"task": "qimatch.resume_paused_volunteers", "schedule": 3600.0},
        # Rescores due that no message woke a worker for (a message lost with the broker).
        "drain-rescores": {"task": "qimatch.drain_rescores", "schedule": settings.rescore_sweep_seconds},
        # Events rescore the requests they touch; this re-solves the whole programme at
        # once, so places go where they do most good across all requests.
        # A canary on each queue: readiness fails when one has not completed for
        # QIMATCH_HEARTBEAT_MINUTES (a worker alive but no longer consuming, celery#8030).
        **{
            f"canary-{queue}": {
                "task": "qimatch.canary",
                "schedule": settings.canary_seconds,
                "args": [queue],
                "options": {"queue": queue, "expires": settings.canary_seconds * 2},
            }
            for queue in QUEUES
        },
        "propose-assignment": {"task": "qimatch.propose_assignment", "schedule": settings.assign_seconds},
    }
