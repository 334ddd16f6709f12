"""The Celery app: configuration from the same Settings as the web app.

Reliability settings, and why:
- acks_late + reject_on_worker_lost: a task whose worker dies is delivered
  again rather than lost; every task is idempotent, so running twice is safe;
- prefetch 1: a worker holds only the message it is working on;
- JSON only, results ignored: messages carry IDs, never personal data;
- two queues: ``email`` (sending, the outbox relay, the sweeps: small and urgent) and
  ``scoring`` (the engine's runs). A worker started without ``-Q`` consumes both; run
  one with ``-Q email`` beside others with ``-Q scoring`` and a scoring backlog never
  delays an introduction;
- kombu's Redis transport scans for unacknowledged messages only on every 10th
  10-second tick by default, so a 10-second visibility timeout meant 80-100 s. The
  scan runs every tick here, and ticks are shorter for short timeouts, so a dead
  worker's task comes back about ``visibility_timeout`` seconds later, as documented.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import beat_init
from kombu import Queue

from matcher.config import Settings
from workers.schedule import QUEUES, beat_schedule

EMAIL_QUEUE, SCORING_QUEUE = QUEUES
# Small, urgent tasks that must never wait behind the engine; everything else is scoring.
EMAIL_TASKS = (
    "qimatch.send_email",
    "qimatch.send_text",
    "qimatch.send_introductions",
    "qimatch.send_follow_up",
    "qimatch.sweep_stalled",
    "qimatch.dispatch_follow_ups",
    "qimatch.dispatch_feedback",
    "qimatch.dispatch_digests",
    "qimatch.dispatch_retention",
    "qimatch.dispatch_session_reminders",
    "qimatch.relay_outbox",
    "qimatch.canary",  # beat names each queue; worker-health sends it to one worker's own queue
)


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or Settings.from_env()
    app = Celery("qimatch", broker=settings.broker_url, include=["workers.tasks"])
    transport_options: dict[str, object] = {}
    remote_control = True
    if settings.broker_url.startswith("filesystem://"):
        # One folder in and out: every process on this machine shares the queue.
        folder = settings.broker_dir
        folder.mkdir(parents=True, exist_ok=True)
        transport_options.update(
            data_folder_in=str(folder), data_folder_out=str(folder), control_folder=str(folder / "control")
        )
        remote_control = False  # the filesystem transport has no broadcast
    if settings.broker_url.startswith(("redis://", "rediss://")):
        # How long an unacknowledged message waits before Redis hands it out again.
        transport_options["visibility_timeout"] = settings.visibility_timeout
        transport_options["unacked_restore_throttle"] = 1
        transport_options["unacked_restore_interval"] = max(1, min(10, settings.visibility_timeout // 4))
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options=transport_options,
        beat_schedule=beat_schedule(settings),
        task_queues=[Queue(EMAIL_QUEUE), Queue(SCORING_QUEUE)],
        task_default_queue=SCORING_QUEUE,
        task_routes={name: {"queue": EMAIL_QUEUE} for name in EMAIL_TASKS},
        # Killed before its lease ends: another worker never sends while this one still might.
        task_annotations={
            name: {"time_limit": settings.email_task_seconds} for name in ("qimatch.send_email", "qimatch.send_text")
        },
        timezone="Europe/London",
        worker_hijack_root_logger=False,
        worker_enable_remote_control=remote_control,
        # Each worker also consumes its own queue (<node>.dq): ``qimatch worker-health`` sends
        # a canary there, so a healthy answer means this worker consumed, not just any.
        worker_direct=True,
    )
    return app


celery_app = make_celery()


@beat_init.connect
def _first_canaries(sender: Any = None, **_: Any) -> None:
    """One canary to each queue as beat starts, so a fresh deployment is ready in seconds,
    not after the first QIMATCH_CANARY_SECONDS."""
    app = getattr(sender, "app", celery_app)
    for queue in QUEUES:
        app.send_task("qimatch.canary", args=[queue], queue=queue, expires=300)


from workers import observability  # noqa: E402, F401 - connects the logging and metrics signals
