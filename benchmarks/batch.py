"""Figures for ``qimatch match`` on a realistic population: ``python -m benchmarks.batch [--size 2kx20k]``.

Writes a seeded population (``matcher/generate.py``: one to four availability
windows, trainings, exclusions, current commitments and their meetings, phone
numbers, meeting places) as JSON lines, then runs the command as a user does, a
fresh process each time, alternating in one run:

- ``after``: ``qimatch match`` as it is, reading with ``web.quick_load.QuickLoader``;
- ``before``: the same command reading each record with the schema's own ``load``
  (how it read before QuickLoader): ``python -m benchmarks.batch --as-before ...``,
  the same CLI with the same parse functions, given ``load=SCHEMA.load``;
- with ``--before-tree DIR`` (a checkout of an older commit, e.g. ``git worktree add
  /tmp/old main``), also ``tree``: that checkout's own reading and matching, run as
  its ``qimatch match`` runs them, with this environment's packages.

For each it prints the wall time of the process (start-up included), the reading
(JSON, validation, building the people) and matching (the engine) seconds the
command reports, and its CPU seconds; then the ratios. Then reading alone, both
ways, in this process, as CPU seconds of the reading thread: on a busy machine
that figure moves least. The machine is shared: the load average is printed
beside the figures, and only figures from one run compare.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from matcher.batch import read_batch
from matcher.generate import generate, request_record, volunteer_record

SIZES = {"200x2k": (200, 2_000), "1kx10k": (1_000, 10_000), "2kx20k": (2_000, 20_000)}
QIMATCH = str(Path(sys.executable).parent / "qimatch")
TOOK = re.compile(r"took ([\d.]+)s \(reading ([\d.]+)s, matching ([\d.]+)s\)")


def write_population(folder: Path, n_requests: int, n_volunteers: int, seed: int) -> tuple[Path, Path]:
    made = generate(n_requests, n_volunteers, seed=seed)
    volunteers, requests = folder / "volunteers.jsonl", folder / "requests.jsonl"
    with volunteers.open("w") as out:
        for v in made.volunteers:
            out.write(json.dumps(volunteer_record(v, made.standings[v.id])) + "\n")
    with requests.open("w") as out:
        for r in made.requests:
            out.write(json.dumps(request_record(r)) + "\n")
    return volunteers, requests


# What `qimatch match` does, minus the command line, for a checkout whose command may not
# yet say where its time went.
IN_TREE = """
import sys
from matcher.batch import run_batch
from matcher.config import matching_from_env
from web.batch_parsers import parse_request, parse_volunteer, use_vocabularies
use_vocabularies(None)
s = run_batch(*sys.argv[1:4], parse_volunteer=parse_volunteer, parse_request=parse_request, progress=False,
              config=matching_from_env()).seconds
print(f"took {s['all']:.2f}s (reading {s['read']:.2f}s, matching {s['total']:.2f}s)")
"""


def one_run(way: str, volunteers: Path, requests: Path, out: Path, tree: str | None) -> dict[str, float]:
    files = ["--volunteers", str(volunteers), "--requests", str(requests), "--out", str(out), "--no-progress"]
    commands = {
        "after": [QIMATCH, "match", *files],
        "before": [sys.executable, "-m", "benchmarks.batch", "--as-before", *files],
        "tree": [sys.executable, "-c", IN_TREE, str(volunteers), str(requests), str(out)],
    }
    env = {**os.environ, "PYTHONPATH": tree} if way == "tree" and tree else None
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        commands[way], capture_output=True, text=True, check=True, cwd=tree if way == "tree" else None, env=env
    )
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    took = TOOK.search(done.stdout)
    if took is None:
        raise SystemExit(f"{way}: no timings in its output:\n{done.stdout}\n{done.stderr}")
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {"wall": wall, "reading": float(took[2]), "matching": float(took[3]), "cpu": cpu}


def reading_cpu(way: str, volunteers: Path, requests: Path) -> float:
    """CPU seconds to read both files ``way``, with loaders that remember nothing yet."""
    from web import batch_parsers
    from web.quick_load import QuickLoader

    offers, asks = batch_parsers.OFFER_SCHEMA, batch_parsers.REQUEST_SCHEMA
    load_offer, load_request = (QuickLoader(offers).load, QuickLoader(asks).load) if way == "after" else (
        offers.load, asks.load)  # fmt: skip
    batch_parsers.use_vocabularies(None)
    started = time.thread_time()
    read_batch(
        volunteers,
        requests,
        parse_volunteer=functools.partial(batch_parsers.parse_volunteer, load=load_offer),
        parse_request=functools.partial(batch_parsers.parse_request, load=load_request),
    )
    return time.thread_time() - started


def as_before(argv: list[str]) -> None:
    """``qimatch match`` reading each record with the schema's own ``load``."""
    from web import batch_parsers
    from web.cli import main

    batch_parsers.parse_volunteer = functools.partial(  # type: ignore[assignment]
        batch_parsers.parse_volunteer, load=batch_parsers.OFFER_SCHEMA.load
    )
    batch_parsers.parse_request = functools.partial(  # type: ignore[assignment]
        batch_parsers.parse_request, load=batch_parsers.REQUEST_SCHEMA.load
    )
    main(["match", *argv])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--as-before"]:
        as_before(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="2kx20k", choices=SIZES)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each way, alternating")
    parser.add_argument("--before-tree", default=None, help="also time this checkout's own reading and matching")
    args = parser.parse_args(argv)
    n_requests, n_volunteers = SIZES[args.size]
    ways = (["tree"] if args.before_tree else []) + ["before", "after"]
    runs: dict[str, list[dict[str, float]]] = {way: [] for way in ways}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        volunteers, requests = write_population(Path(tmp), n_requests, n_volunteers, args.seed)
        outputs = {way: Path(tmp, f"{way}.jsonl") for way in runs}
        for _ in range(args.rounds):
            for way in runs:
                runs[way].append(one_run(way, volunteers, requests, outputs[way], args.before_tree))
                print(f"{way}: {runs[way][-1]}", file=sys.stderr, flush=True)
        same = len({out.read_bytes() for out in outputs.values()}) == 1
        cpu: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            for way in cpu:
                cpu[way].append(reading_cpu(way, volunteers, requests))
    loads.append(os.getloadavg()[0])
    median = {way: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for way, rs in runs.items()}
    print(
        f"qimatch match, realistic {n_requests:,} requests x {n_volunteers:,} volunteers (seed {args.seed}); "
        f"{os.cpu_count()} cores; load average {loads[0]:.1f} at the start, {loads[1]:.1f} at the end; "
        f"median of {args.rounds} alternating runs each, seconds"
    )
    print(f"{'':>28} {'wall':>7} {'reading':>8} {'matching':>8} {'cpu':>7}  reading/wall")
    labels = {"tree": f"{Path(args.before_tree or '').name} (its own code)", "before": "before (schema.load)",
              "after": "after (QuickLoader)"}  # fmt: skip
    for way, m in median.items():
        print(
            f"{labels[way]:>28} {m['wall']:>7.2f} {m['reading']:>8.2f} {m['matching']:>8.2f} {m['cpu']:>7.2f}"
            f"  {m['reading'] / m['wall']:>11.0%}"
        )
    widths = {"wall": 7, "reading": 8, "matching": 8, "cpu": 7}
    a = median["after"]
    for way in ways[:-1]:
        b = median[way]
        ratios = [f"{b[k] / a[k]:>{width - 1}.2f}x" for k, width in widths.items()]
        print(f"{labels[way].split(' (')[0] + ' / after':>28} " + " ".join(ratios))
    print(f"every way wrote the same assignment: {same}")
    before, after = statistics.median(cpu["before"]), statistics.median(cpu["after"])
    print(
        f"reading alone, CPU seconds of the reading thread: before {before:.2f}, after {after:.2f}, "
        f"before / after {before / after:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
