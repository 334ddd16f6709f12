"""`qimatch match` as a user runs it: JSON-lines in, the assignment out, bad lines named."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from matcher.config import MatchingConfig
from matcher.generate import generate, request_record, volunteer_record
from matcher.rules import Standing, screen

pytestmark = pytest.mark.e2e
QIMATCH = str(Path(sys.executable).parent / "qimatch")


def write_population(tmp_path: Path, bad_lines: bool) -> tuple[Path, Path, object]:
    population = generate(40, 400, seed=7)
    volunteers, requests = tmp_path / "volunteers.jsonl", tmp_path / "requests.jsonl"
    lines = [json.dumps(volunteer_record(v, population.standings[v.id])) for v in population.volunteers]
    if bad_lines:
        lines.insert(3, json.dumps({**json.loads(lines[0]), "id": "bad-1", "home_area": "atlantis"}))
        lines.insert(5, "{not json")
    volunteers.write_text("\n".join(lines) + "\n")
    requests.write_text("\n".join(json.dumps(request_record(r)) for r in population.requests) + "\n")
    return volunteers, requests, population


def test_match_writes_an_assignment_that_keeps_every_rule(tmp_path: Path) -> None:
    volunteers, requests, population = write_population(tmp_path, bad_lines=True)
    out = tmp_path / "assignment.jsonl"
    done = subprocess.run(
        [QIMATCH, "match", "--volunteers", volunteers, "--requests", requests, "--out", out],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "volunteers.jsonl:4: home_area" in done.stderr and "volunteers.jsonl:6:" in done.stderr
    assert "places requested:" in done.stdout and "first-time share:" in done.stdout
    # Where the time went, so a user sees whether reading or matching is slow.
    assert re.search(r"took [\d.]+s \(reading [\d.]+s, matching [\d.]+s\); wrote ", done.stdout), done.stdout

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines and set(lines[0]) == {"team_request_id", "volunteer_id", "role", "score", "factors"}
    people = {v.id: v for v in population.volunteers}  # type: ignore[attr-defined]
    asked = {r.id: r for r in population.requests}  # type: ignore[attr-defined]
    per_volunteer = Counter(line["volunteer_id"] for line in lines)
    per_role = Counter((line["team_request_id"], line["role"]) for line in lines)
    config = MatchingConfig()
    for line in lines:
        volunteer, request = people[line["volunteer_id"]], asked[line["team_request_id"]]
        standing: Standing = population.standings[volunteer.id]  # type: ignore[attr-defined]
        assert screen(volunteer, request, line["role"], standing, config) == []
        assert line["score"] == pytest.approx(sum(line["factors"].values()), abs=1e-5)
        assert per_volunteer[volunteer.id] <= volunteer.max_commitments - standing.active_commitments
        assert per_role[(request.id, line["role"])] <= request.role_count(line["role"])
    pairs = Counter((line["team_request_id"], line["volunteer_id"]) for line in lines)
    assert max(pairs.values()) == 1  # never two roles on one request
    summary = dict(line.split(":", 1) for line in done.stdout.splitlines() if ":" in line)
    assert int(summary["places filled"]) == len(lines)


def test_refusing_bad_lines_writes_nothing(tmp_path: Path) -> None:
    volunteers, requests, _ = write_population(tmp_path, bad_lines=True)
    out = tmp_path / "assignment.jsonl"
    done = subprocess.run(
        [QIMATCH, "match", "--volunteers", volunteers, "--requests", requests, "--out", out, "--on-bad-line", "refuse"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "2 bad line(s); nothing written" in done.stderr
    assert not out.exists()
