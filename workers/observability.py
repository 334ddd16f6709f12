"""Celery's signals wired to the log lines' ids and the task metrics.

- setup_logging: worker and beat log through matcher.adapters.log_lines (QIMATCH_LOG_FORMAT)
  instead of Celery's own format;
- before_task_publish: the current request id (a web request's, or the task's that publishes)
  goes in the message's headers, so the tasks a request caused log under its id;
- task_prerun/postrun: each task's lines carry its task id, request id and event id; its run,
  failure, retry and duration are counted (workers.instruments).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from celery.signals import before_task_publish, setup_logging, task_failure, task_postrun, task_prerun, task_retry

from matcher.adapters import log_lines
from matcher.config import Settings
from workers import instruments

log = logging.getLogger("qimatch.tasks")
_running: dict[str, tuple[object, float]] = {}
_beat = False  # this process is beat: its sends are logged here, with their task ids


@setup_logging.connect
def _logging(loglevel: Any = logging.INFO, **_: Any) -> None:
    role = "beat" if "beat" in sys.argv else "worker"
    level = loglevel if isinstance(loglevel, int) else logging.getLevelName(str(loglevel or "INFO").upper())
    log_lines.configure(Settings.from_env().log_format, role, level if isinstance(level, int) else logging.INFO)
    if role == "beat":
        # Beat's own "Sending due task" line names no task id: _carry_request_id says it with one.
        logging.getLogger("celery.beat").addFilter(
            lambda record: not record.getMessage().startswith("Scheduler: Sending due task")
        )
        global _beat
        _beat = True


@before_task_publish.connect
def _carry_request_id(sender: Any = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is None:
        return
    ids = log_lines.current()
    if ids.get("request_id"):
        headers.setdefault("qimatch_request", ids["request_id"])
    if _beat:
        with log_lines.bound(task_id=headers.get("id")):
            log.info("%s sent by the schedule", sender)


@task_prerun.connect
def _task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task is None or task_id is None:
        return
    request = task.request
    token = log_lines.bind(
        task_id=task_id,
        request_id=getattr(request, "qimatch_request", None),
        event_id=getattr(request, "qimatch_event", None),
    )
    _running[task_id] = (token, time.monotonic())
    instruments.TASK_RUNS.labels(task.name).inc()
    log.info("%s started", task.name)


@task_postrun.connect
def _task_ended(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    token, started = _running.pop(task_id or "", (None, None))
    if task is not None and started is not None:
        instruments.TASK_SECONDS.labels(task.name).observe(time.monotonic() - started)
    if token is not None:
        log_lines.unbind(token)


@task_failure.connect
def _task_failed(sender: Any = None, **_: Any) -> None:
    instruments.TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()


@task_retry.connect
def _task_retried(sender: Any = None, **_: Any) -> None:
    instruments.TASK_RETRIES.labels(getattr(sender, "name", "unknown")).inc()
