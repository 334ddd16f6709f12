"""Log lines for operators: JSON or text (QIMATCH_LOG_FORMAT), each with its correlation ids.

Every line carries the request id (a web request, or the request whose events a task
came from) and the task id when a task is running, so one grep for a request id follows
a submission through the events it published to the tasks and emails they caused. The
ids travel in the task messages' headers (``qimatch_request``, ``qimatch_event``): never
personal data, as the messages themselves hold only ids.

Messages pass through ``web.access_log.redact``'s rules (query strings, link secrets);
nothing in qimatch logs a name, an address or free text (a test greps a real run's logs).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

# The ids of what this thread is doing now: request_id, task_id, event_id.
_current: ContextVar[dict[str, str]] = ContextVar("qimatch_log_ids", default={})  # noqa: B039 - never mutated
FIELDS = ("request_id", "task_id", "event_id")
# Celery's own lines name the task in brackets: "Task qimatch.send_email[<id>] received".
CELERY_TASK_ID = re.compile(r"\[([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\]")


def current() -> dict[str, str]:
    return dict(_current.get())


@contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Lines logged inside carry these ids too (None leaves an id out)."""
    token = _current.set({**_current.get(), **{k: str(v) for k, v in ids.items() if v}})
    try:
        yield
    finally:
        _current.reset(token)


def bind(**ids: str | None) -> object:
    """``bound`` without the block, for before/after hooks; ``unbind`` with what it returns."""
    return _current.set({**_current.get(), **{k: str(v) for k, v in ids.items() if v}})


def unbind(token: object) -> None:
    # Made in another context (a hook that ran elsewhere): nothing to undo.
    with suppress(ValueError):
        _current.reset(token)  # type: ignore[arg-type]


class Correlate(logging.Filter):
    """Puts the ids on every record, and redacts query strings and link secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _current.get()
        for name in FIELDS:
            if not getattr(record, name, None):
                setattr(record, name, ids.get(name))
        if not record.task_id:  # type: ignore[attr-defined]
            try:
                found = CELERY_TASK_ID.search(record.getMessage())
            except Exception:  # noqa: BLE001 - a malformed record is logging's to report
                found = None
            if found:
                record.task_id = found.group(1)
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from web.access_log import redact

        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "process": getattr(record, "role", None) or _role,
            "message": redact(record.getMessage()),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value:
                line[name] = value
        if record.exc_info:
            line["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


class TextLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from web.access_log import redact

        ids = " ".join(f"{n.split('_')[0]}={getattr(record, n)}" for n in FIELDS if getattr(record, n, None))
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        text = f"{stamp} {record.levelname:<7} {record.name}: {redact(record.getMessage())}"
        if ids:
            text += f"  [{ids}]"
        if record.exc_info:
            text += "\n" + redact(self.formatException(record.exc_info))
        return text


_role = ""


def configure(fmt: str, role: str, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Root logging for one process (web, worker, beat): one handler, our format, our filter."""
    global _role
    _role = role
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines() if fmt == "json" else TextLines())
    handler.addFilter(Correlate())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
