"""The counters and histograms workers write (prometheus-client), read by the web's /metrics.

In multiprocess mode (PROMETHEUS_MULTIPROC_DIR, which ``qimatch up``, ``web``, ``worker``
and ``beat`` default to <data folder>/metrics) each process, the Celery prefork pool's
children and gunicorn's workers included, writes its own files there and /metrics sums them.
The directory must be shared by the web and the workers and emptied when all of them start
afresh (docs/monitoring.md). Labels are task names and codes: never anything personal.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TASK_RUNS = Counter("qimatch_task_runs_total", "Tasks run, by task name", ["task"])
TASK_FAILURES = Counter("qimatch_task_failures_total", "Tasks that raised, by task name", ["task"])
TASK_RETRIES = Counter("qimatch_task_retries_total", "Tasks retried, by task name", ["task"])
TASK_SECONDS = Histogram(
    "qimatch_task_seconds",
    "How long tasks took, by task name",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
ENGINE_SECONDS = Histogram(
    "qimatch_engine_seconds",
    "The matching engine's runs: rescore (a burst of events) or assignment (the whole programme)",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
