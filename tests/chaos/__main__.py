"""`python -m tests.chaos [--scale N] [pytest args]`: the fault-injection scenarios on demand.

CI runs every scenario at scale 1 as part of the normal suite. This runs them at a
bigger load (``--scale 3`` is three times the approvals, and three times the patience)
and prints the table of what each sent and received, counted by Message-ID, in the
shape of docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

COLUMNS = ("expected", "once", "duplicated", "missing", "refused", "possibly_sent")


def table(lines: list[dict[str, Any]], outcomes: dict[str, str]) -> str:
    heads = ("Emails expected", "Once", "Twice or more", "Missing", "Refused (550)", "Possibly sent")
    rows = [
        "| Scenario | " + " | ".join(heads) + " | Other figures | Seconds | Result |",
        "|---" * (len(heads) + 4) + "|",
    ]
    for line in lines:
        other = {k: v for k, v in line.items() if k not in (*COLUMNS, "scenario", "seconds", "scale")}
        cells = [str(line.get(c, "")) for c in COLUMNS]
        shown = "; ".join(f"{k} {v}" for k, v in other.items())
        rows.append(
            f"| {line['scenario']} | {' | '.join(cells)} | {shown} | {line['seconds']} | "
            f"{outcomes.get(line['scenario'], '?')} |"
        )
    return "\n".join(rows)


class Outcomes:
    """A pytest plugin that keeps each scenario's pass or fail for the table."""

    def __init__(self) -> None:
        self.by_scenario: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = report.nodeid.split("::", 1)[-1]
        if report.when == "call" or report.outcome == "failed":
            self.by_scenario[name] = "passed" if report.passed else report.outcome


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=3, help="load multiplier (CI runs 1)")
    args, pytest_args = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "chaos.jsonl"
        os.environ.update(QIMATCH_CHAOS_SCALE=str(args.scale), QIMATCH_CHAOS_REPORT=str(report))
        outcomes = Outcomes()
        # One scenario at a time (not the suite's three processes): each one's seconds are a figure.
        argv = ["-m", "chaos", "-p", "no:cacheprovider", "-n", "0", *pytest_args, "tests/chaos"]
        code = pytest.main(argv, plugins=[outcomes])
        lines = [json.loads(x) for x in report.read_text().splitlines()] if report.exists() else []
    merged: dict[str, dict[str, Any]] = {}
    for line in lines:  # a scenario may record in several steps: one row each
        merged.setdefault(line["scenario"], {}).update(line)
    print(f"\nChaos scenarios at scale {args.scale}:\n")
    print(table(list(merged.values()), outcomes.by_scenario))
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
