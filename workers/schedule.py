"""The periodic schedule: the relay, the follow-up dispatcher and the sweep.

Nothing days ahead is a Celery ETA: follow-ups are rows with due times that the
dispatcher finds each minute, so a broker restart cannot lose them.
"""

from __future__ import annotations

import os
from typing import Any


def beat_schedule() -> dict[str, dict[str, Any]]:
    relay_every = float(os.environ.get("QIMATCH_RELAY_SECONDS", "5"))
    dispatch_every = float(os.environ.get("QIMATCH_DISPATCH_SECONDS", "60"))
    assign_every = float(os.environ.get("QIMATCH_ASSIGN_SECONDS", "900"))
    return {
        # Publishes events whose fast-path publish failed (broker down at commit time).
        "relay-outbox": {"task": "qimatch.relay_outbox", "schedule": relay_every},
        "dispatch-follow-ups": {"task": "qimatch.dispatch_follow_ups", "schedule": dispatch_every},
        "sweep-stalled-emails": {"task": "qimatch.sweep_stalled", "schedule": dispatch_every},
        # Events rescore one request or one offer at a time; this re-solves the whole
        # programme at once, so places go where they do most good across all requests.
        "resume-paused-volunteers": {"task": "qimatch.resume_paused_volunteers", "schedule": 3600.0},
        "propose-assignment": {"task": "qimatch.propose_assignment", "schedule": assign_every},
    }
