"""What each scenario sent and received, counted by Message-ID, for the table in
docs/reliability.md.

Every email's Message-ID is derived from its delivery key, and the SMTP sink keeps
every message it accepted, so "once", "twice" and "never" are counted, not guessed.
Figures go to the JSON-lines file named by ``QIMATCH_CHAOS_REPORT`` when it is set
(``python -m tests.chaos`` sets it); the assertions are the same either way.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from matcher.adapters.letters import message_id
from matcher.services.introductions import delivery_key
from tests.real_parts import SmtpSink

PARTIES = ("team", "volunteer")
_current: dict[str, Any] = {}


def scaled(n: int) -> int:
    """A scenario's load, times ``QIMATCH_CHAOS_SCALE`` (1 in CI; more on demand)."""
    return n * max(1, int(os.environ.get("QIMATCH_CHAOS_SCALE", "1")))


@contextmanager
def scenario(name: str) -> Iterator[None]:
    _current.clear()
    _current.update(scenario=name, started=time.monotonic())
    try:
        yield
    finally:
        _current.clear()


def expected(match_ids: Iterable[str]) -> set[str]:
    return {message_id(delivery_key(m, party)) for m in match_ids for party in PARTIES}


def arrivals(smtp: SmtpSink) -> Counter[str]:
    with smtp.lock:
        return Counter(r.message_id for r in smtp.received)


def each_arrived_once(smtp: SmtpSink, match_ids: list[str], possibly_sent: int = 0, refused: int = 0) -> None:
    """Every expected email in the SMTP server's log, none missing, none twice.

    ``refused`` emails were refused by the server on purpose (a 550): they are owed but
    never arrive, and must not be counted as lost.
    """
    want = expected(match_ids)
    counts = arrivals(smtp)
    record(
        expected=len(want),
        once=sum(1 for k in want if counts[k] == 1),
        duplicated=sum(1 for k in want if counts[k] > 1),
        missing=sum(1 for k in want if counts[k] == 0) - refused,
        refused=refused,
        possibly_sent=possibly_sent,
    )
    missing = sorted(k for k in want if counts[k] == 0)
    assert len(missing) == refused, f"missing: {missing}"
    assert set(counts) <= want, f"unexpected: {sorted(set(counts) - want)}"
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]


def record(**figures: Any) -> None:
    """Add figures to the running scenario's line in the report (if one is being kept)."""
    path = os.environ.get("QIMATCH_CHAOS_REPORT")
    if not path or not _current:
        return
    line = {
        "scenario": _current["scenario"],
        "seconds": round(time.monotonic() - _current["started"], 1),
        "scale": int(os.environ.get("QIMATCH_CHAOS_SCALE", "1")),
        **figures,
    }
    with open(path, "a", encoding="utf-8") as report:
        report.write(json.dumps(line) + "\n")
