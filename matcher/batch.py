"""Offline batch matching: what ``qimatch match --volunteers V --requests R --out A`` does.

Input lines are records in the API's shape plus an ``"id"`` (volunteers may
also carry ``"status"``, ``"active_commitments"`` and ``"committed_slots"``,
the meetings of what they hold now, for rule 10, and ``"verified_trainings"``: the
codes of their trainings the programme verified, the only ones that pass rule 6 unless
``QIMATCH_DECLARED_TRAINING_COUNTS`` lets declared trainings pass too). The caller passes the
parsers, so the web's own validation rules apply without this module
importing any web framework: a parser that returns a volunteer with their
``Standing`` has checked those fields too (``web.batch_parsers``); for one that
returns the volunteer alone, they are taken as they are. A bad line is reported with its file and line
number, then skipped or, if the user chose to refuse, nothing is written at all.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tqdm import tqdm

from matcher.config import MatchingConfig
from matcher.domain import TeamRequest, Volunteer, slots
from matcher.engine import run
from matcher.proposals import Candidate
from matcher.rules import Standing

ParseVolunteer = Callable[[dict[str, Any]], "Volunteer | tuple[Volunteer, Standing]"]
ParseRequest = Callable[[dict[str, Any]], TeamRequest]


@dataclass(frozen=True)
class BadLine:
    path: str
    line: int
    errors: dict[str, Any]

    def __str__(self) -> str:
        parts = [
            f"{name}: {'; '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
            for name, msgs in sorted(self.errors.items())
        ]
        return f"{self.path}:{self.line}: " + ", ".join(parts)


class BatchRefused(Exception):
    """Bad lines were found and the user asked to refuse rather than skip them."""

    def __init__(self, bad_lines: list[BadLine]) -> None:
        super().__init__(f"{len(bad_lines)} bad line(s); nothing written")
        self.bad_lines = bad_lines


@dataclass
class BatchSummary:
    volunteers: int = 0
    requests: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)
    places_requested: int = 0
    places_filled: int = 0
    volunteers_used: int = 0
    first_time_share: float = 0.0  # of filled places, those going to people with no commitment yet
    # How far below the best assignment keeping rule 10 this one may be: 0 when proven (places
    # first, then the share of the total score), else the search for meeting times stopped early.
    places_in_doubt: int = 0
    score_gap: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"read {self.volunteers} volunteers and {self.requests} requests"
            + (f" ({len(self.bad_lines)} bad lines skipped)" if self.bad_lines else ""),
            f"places requested: {self.places_requested}",
            f"places filled:    {self.places_filled}",
            f"volunteers used:  {self.volunteers_used}",
            f"first-time share: {self.first_time_share:.0%}",
            f"best possible:    {self._best_possible()}",
        ]

    def _best_possible(self) -> str:
        if self.places_in_doubt:
            return f"up to {self.places_in_doubt} more places (the search for meeting times stopped early)"
        if self.score_gap > 0:
            return f"within {self.score_gap:.4%} of the best total score (the search for meeting times stopped early)"
        return "proven"


def field_errors(exc: Exception) -> dict[str, Any]:
    """The per-field messages an exception carries (marshmallow's ``messages`` or an ``errors`` dict)."""
    for attr in ("messages", "errors", "normalized_messages"):
        value = getattr(exc, attr, None)
        if callable(value):
            value = value()
        if isinstance(value, dict) and value:
            return value
        if isinstance(value, list) and value:
            return {"_schema": value}
    return {"_schema": [str(exc) or type(exc).__name__]}


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, BadLine(str(path), number, {"_json": [f"not valid JSON: {exc.msg}"]})
                continue
            if not isinstance(record, dict):
                yield number, BadLine(str(path), number, {"_json": ["each line must be a JSON object"]})
                continue
            yield number, record


def _id_errors(record: dict[str, Any], seen: set[str]) -> dict[str, Any]:
    rid = record.get("id")
    if not isinstance(rid, str) or not rid.strip():
        return {"id": ["Missing data for required field."]}
    if rid in seen:
        return {"id": [f"duplicate id {rid!r}"]}
    return {}


def _read(
    path: Path,
    parse: Callable[[dict[str, Any]], Any],
    bad: list[BadLine],
    warn: Callable[[str], None] | None,
    bar: tqdm,
) -> list[Any]:
    parsed: list[Any] = []
    seen: set[str] = set()
    for number, record in _records(path):
        bar.update(1)
        if isinstance(record, BadLine):
            problem: BadLine | None = record
        else:
            errors = _id_errors(record, seen)
            try:
                value = parse(record)
            except Exception as exc:  # the parser's own validation: report it, never crash the batch
                errors = {**field_errors(exc), **errors}
            problem = BadLine(str(path), number, errors) if errors else None
        if problem is not None:
            bad.append(problem)
            if warn:
                warn(str(problem))
            continue
        seen.add(record["id"])  # type: ignore[index]
        parsed.append((record, value))
    return parsed


def _candidate(record: dict[str, Any], value: Volunteer | tuple[Volunteer, Standing]) -> Candidate:
    if isinstance(value, tuple):
        volunteer, standing = value
    else:
        volunteer = value
        standing = Standing(
            active_commitments=int(record.get("active_commitments") or 0),
            committed_slots=frozenset(slots(record.get("committed_slots") or [])),
        )
    volunteer.id = record["id"]
    if "status" in record:
        volunteer.status = record["status"]
    return Candidate(volunteer, standing)


def run_batch(
    volunteers_path: str | os.PathLike[str],
    requests_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    parse_volunteer: ParseVolunteer,
    parse_request: ParseRequest,
    on_bad_line: Literal["skip", "refuse"] = "skip",
    progress: bool = True,
    config: MatchingConfig | None = None,
    warn: Callable[[str], None] | None = None,
) -> BatchSummary:
    """Read, match, write; return the summary. Raises ``BatchRefused`` (writing nothing) when refusing."""
    config = config or MatchingConfig()
    started = time.perf_counter()
    # A bar only on a terminal: piped stderr (cron, CI logs) stays free of carriage returns.
    show = progress and sys.stderr.isatty()
    candidates, requests, bad = read_batch(
        volunteers_path, requests_path, parse_volunteer=parse_volunteer, parse_request=parse_request,
        warn=warn, show=show,
    )  # fmt: skip
    if bad and on_bad_line == "refuse":
        raise BatchRefused(bad)
    open_counts = {r.id: _role_counts(r) for r in requests}
    read_done = time.perf_counter()

    total_rows = sum(len(c) for c in open_counts.values())
    with tqdm(desc="scoring", total=total_rows, unit=" rows", disable=not show, file=sys.stderr) as bar:
        outcome = run(requests, candidates, open_counts, config, on_chunk=bar.update)

    _write(Path(out_path), outcome.proposals)
    a = outcome.assignment
    previous = outcome.pairing.volunteers.previous[a.cols]
    return BatchSummary(
        volunteers=len(candidates),
        requests=len(requests),
        bad_lines=bad,
        places_requested=a.places_open,
        places_filled=a.filled,
        volunteers_used=len(np.unique(a.cols)),
        first_time_share=float(np.mean(previous == 0)) if a.filled else 0.0,
        places_in_doubt=a.places_in_doubt,
        score_gap=a.score_gap,
        seconds={"read": read_done - started, **outcome.seconds, "all": time.perf_counter() - started},
    )


def read_batch(
    volunteers_path: str | os.PathLike[str],
    requests_path: str | os.PathLike[str],
    *,
    parse_volunteer: ParseVolunteer,
    parse_request: ParseRequest,
    warn: Callable[[str], None] | None = None,
    show: bool = False,
) -> tuple[list[Candidate], list[TeamRequest], list[BadLine]]:
    """The good lines as candidates and requests, and the bad lines, in file order."""
    # Reading makes a million small lists and dicts that all stay alive: the cyclic garbage
    # collector, run every 700 allocations, would walk them again and again (a third of
    # the reading time) to find nothing, since JSON records hold no cycles.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _read_all(Path(volunteers_path), Path(requests_path), parse_volunteer, parse_request, warn, show)
    finally:
        if collecting:
            gc.enable()


def _read_all(
    volunteers_path: Path,
    requests_path: Path,
    parse_volunteer: ParseVolunteer,
    parse_request: ParseRequest,
    warn: Callable[[str], None] | None,
    show: bool,
) -> tuple[list[Candidate], list[TeamRequest], list[BadLine]]:
    bad: list[BadLine] = []

    with tqdm(desc="reading", unit=" lines", disable=not show, file=sys.stderr) as bar:
        volunteer_rows = _read(volunteers_path, parse_volunteer, bad, warn, bar)
        request_rows = _read(requests_path, parse_request, bad, warn, bar)
    candidates = [_candidate(record, value) for record, value in volunteer_rows]
    requests: list[TeamRequest] = []
    for record, request in request_rows:
        request.id = record["id"]
        requests.append(request)
    return candidates, requests, bad


def _role_counts(request: TeamRequest) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in request.roles:
        counts[r["role"]] = counts.get(r["role"], 0) + int(r["count"])
    return counts


def _write(path: Path, proposals: dict[str, list[Any]]) -> None:
    # Written beside the target and renamed, so a failure never leaves half a file.
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8") as out:
        for rid in sorted(proposals):
            for p in proposals[rid]:
                if p.proposed:
                    line = {
                        "team_request_id": rid,
                        "volunteer_id": p.volunteer_id,
                        "role": p.role,
                        "score": p.score,
                        "factors": p.factors,
                    }
                    out.write(json.dumps(line, separators=(",", ":")) + "\n")
    tmp.replace(path)
