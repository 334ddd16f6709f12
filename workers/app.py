"""The Celery app: configuration from the same Settings as the web app.

Reliability settings, and why:
- acks_late + reject_on_worker_lost: a task whose worker dies is delivered
  again rather than lost; every task is idempotent, so running twice is safe;
- prefetch 1: a worker holds only the message it is working on;
- JSON only, results ignored: messages carry IDs, never personal data.
"""

from __future__ import annotations

from celery import Celery

from matcher.config import Settings
from workers.schedule import beat_schedule


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
        timezone="Europe/London",
        worker_hijack_root_logger=False,
        worker_enable_remote_control=remote_control,
    )
    return app


celery_app = make_celery()
