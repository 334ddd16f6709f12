"""The Celery ceiling: a task that does nothing but count itself.

``python -m benchmarks.pipeline`` starts the very worker ``qimatch worker`` runs
(same app, broker, concurrency, prefetch, acks) with ``--include`` of this module,
sends it thousands of these, and times them: the rate no task of ours can beat.
The count is one Redis INCR on the broker's own Redis, so the benchmark knows when
the last one ran (results are ignored by the app's settings).
"""

from __future__ import annotations

from functools import cache

import redis

from matcher.config import Settings
from workers.app import celery_app

TASK = "qimatch_bench.noop"
COUNTER = "qimatch_bench:noop_done"


@cache
def _redis() -> redis.Redis:
    # One connection per pool process, made after the fork.
    return redis.Redis.from_url(Settings.from_env().broker_url)


@celery_app.task(name=TASK)
def noop() -> None:
    _redis().incr(COUNTER)
