"""Figures for the matching engine: ``python -m benchmarks.matching [--sizes 200x1k,1kx5k]``.

For each size (requests x volunteers) on a seeded population: time to encode,
score and assign; places filled against the most any assignment could fill;
total score against the exact optimum on the unpruned graph; how places spread
(Gini over available volunteers, first-timers' share); hard-rule violations,
checked pair by pair with the scalar rules; and a greedy baseline and the
``matching`` package's Hospital-Resident solver side by side.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.baselines import Baseline, greedy, hospital_resident
from matcher.batch import run_batch
from matcher.config import MatchingConfig
from matcher.engine import run
from matcher.engine.candidates import everything
from matcher.engine.flow import assign_relaxed, augmenting_rows, objective_of
from matcher.engine.incremental import score_offer
from matcher.generate import (
    generate,
    make_volunteer,
    request_from_record,
    request_record,
    volunteer_from_record,
    volunteer_record,
)
from matcher.proposals import Candidate
from matcher.rules import screen
from matcher.scoring import SCALE

SIZES = {"200x1k": (200, 1_000), "1kx5k": (1_000, 5_000), "2kx20k": (2_000, 20_000), "5kx50k": (5_000, 50_000)}
# Above this many eligible pairs the unpruned solve (and the HR solver) would need gigabytes.
UNPRUNED_LIMIT = 12_000_000
HR_LIMIT = 2_000_000


def gini(values: np.ndarray) -> float:
    if not len(values) or values.sum() == 0:
        return 0.0
    v = np.sort(values.astype(np.float64))
    n = len(v)
    return float((2 * np.arange(1, n + 1) - n - 1) @ v / (n * v.sum()))


def violations(outcome, candidates: list[Candidate], config: MatchingConfig) -> int:
    """Broken hard rules, capacities, counts and one-role-per-request, over every proposal made."""
    by_v = {c.volunteer.id: c for c in candidates}
    by_r = {r.id: r for r in outcome.pairing.requests.requests}
    open_counts = Counter(
        (outcome.pairing.requests.ids[int(q)], role)
        for q, role, n in zip(outcome.pairing.requests.row_request, outcome.pairing.requests.row_role,
                              outcome.pairing.requests.row_open, strict=True)
        for _ in range(int(n))
    )
    bad = 0
    load: Counter[str] = Counter()
    per_role: Counter[tuple[str, str]] = Counter()
    for rid, items in outcome.proposals.items():
        on_request: set[str] = set()
        for p in items:
            c = by_v[p.volunteer_id]
            bad += bool(screen(c.volunteer, by_r[rid], p.role, c.standing, config))
            if p.proposed:
                bad += p.volunteer_id in on_request
                on_request.add(p.volunteer_id)
                load[p.volunteer_id] += 1
                per_role[(rid, p.role)] += 1
    bad += sum(n > by_v[v].remaining for v, n in load.items())
    bad += sum(n > open_counts[k] for k, n in per_role.items())
    return bad


def _eligible_pairs(pairing) -> int:
    return sum(int(np.isfinite(s).sum()) for _, s in pairing.chunks())


def one_size(label: str, n_requests: int, n_volunteers: int, seed: int, hr_timeout: float, batch: bool) -> dict:
    config = MatchingConfig()
    population = generate(n_requests, n_volunteers, seed=seed)
    candidates = [Candidate(v, population.standings[v.id]) for v in population.volunteers]
    outcome = run(population.requests, candidates, population.open_counts, config)
    pairing, a = outcome.pairing, outcome.assignment
    row: dict = {"size": label, **{k: round(v, 3) for k, v in outcome.seconds.items()}}
    row["places_open"] = a.places_open
    row["filled"] = a.filled
    row["repairs"] = a.repairs
    row["priced"] = a.priced
    fast = run(population.requests, candidates, population.open_counts, config, prove_score=False)
    row["fast_seconds"] = round(fast.seconds["score"] + fast.seconds["assign"], 3)
    row["candidate_pairs"] = len(outcome.edges)
    eligible = _eligible_pairs(pairing)
    row["eligible_pairs"] = eligible
    # Pruning's proofs are about the solve before rule 10 keeps meetings apart within it
    # (engine.assign.keep_apart): that relaxed solve is what is compared with the unpruned one.
    relaxed = assign_relaxed(pairing, outcome.edges)[0]
    row["proven_max"] = augmenting_rows(pairing, relaxed) is None
    row["clash_solves"] = a.clash_solves
    row["clash_branches"] = a.clash_branches
    row["rule10_proven"] = a.proven
    # How far from the best assignment keeping rule 10 the result may be (0 when proven).
    row["rule10_bound_places"] = a.places_in_doubt
    row["rule10_bound_gap"] = a.score_gap
    row["rule10_places_lost"] = relaxed.filled - a.filled
    row["rule10_score_share"] = a.objective / relaxed.objective if relaxed.objective else 1.0
    if eligible <= UNPRUNED_LIMIT:
        started = time.perf_counter()
        full = assign_relaxed(pairing, everything(pairing), prove=False)[0]
        row["unpruned_seconds"] = round(time.perf_counter() - started, 3)
        row["max_places"] = full.filled
        row["score_vs_optimum"] = relaxed.objective / full.objective if full.objective else 1.0
        fast_relaxed = fast.assignment.relaxed_objective or 0.0
        row["fast_vs_optimum"] = fast_relaxed / full.objective if full.objective else 1.0
    else:
        row["max_places"] = relaxed.filled if row["proven_max"] else None
        row["score_vs_optimum"] = None
        row["fast_vs_optimum"] = None
        fast_relaxed = fast.assignment.relaxed_objective or 0.0
        row["fast_vs_proven"] = fast_relaxed / relaxed.objective if relaxed.objective else 1.0
    usable = pairing.volunteers.usable & (pairing.volunteers.capacity > 0)
    places = np.bincount(a.cols, minlength=len(pairing.volunteers))
    row["gini"] = gini(places[usable])
    row["first_time_share"] = float(np.mean(pairing.volunteers.previous[a.cols] == 0)) if a.filled else 0.0
    row["violations"] = violations(outcome, candidates, config)
    row["total_score"] = float(a.score.sum()) / SCALE
    row["objective"] = a.objective

    # One new offer against all open requests: one column.
    rng = random.Random(seed + 1)
    times = []
    for i in range(20):
        v, s = make_volunteer(rng, 10_000_000 + i)
        started = time.perf_counter()
        score_offer(pairing, Candidate(v, s), config)
        times.append(time.perf_counter() - started)
    row["one_offer_ms"] = round(1000 * float(np.median(times)), 1)

    base = greedy(pairing)
    row["greedy"] = _ratios(pairing, a, outcome.seconds["score"] + outcome.seconds["assign"], base)
    if eligible <= HR_LIMIT:
        full_edges = everything(pairing)
        hr = hospital_resident(pairing, full_edges, hr_timeout)
        if hr is None:
            row["hr"] = {"note": f"did not finish in {hr_timeout:.0f} s"}
        elif hr.note.startswith("failed"):
            row["hr"] = {"note": hr.note}
        else:
            row["hr"] = _ratios(pairing, a, outcome.seconds["score"] + outcome.seconds["assign"], hr)
        del full_edges
    else:
        row["hr"] = {"note": f"not run: {eligible:,} eligible pairs (> {HR_LIMIT:,})"}
    if batch:
        row["batch_seconds"] = _batch(population)
    return row


def _ratios(pairing, a, engine_seconds: float, base: Baseline) -> dict:
    objective = objective_of(pairing, base.cols, base.score)
    return {
        "seconds": round(base.seconds, 3),
        "speedup": base.seconds / engine_seconds,  # how many times faster the engine is
        "score_ratio": a.objective / objective if objective else float("inf"),  # engine / baseline
        "filled_ratio": a.filled / len(base.rows) if len(base.rows) else float("inf"),
        "note": base.note,
    }


def _batch(population) -> float:
    """The batch function end to end (JSONL in and out), with a plain parser instead of the web's schemas."""
    with tempfile.TemporaryDirectory() as tmp:
        vols, reqs, out = Path(tmp, "v.jsonl"), Path(tmp, "r.jsonl"), Path(tmp, "a.jsonl")
        with vols.open("w") as f:
            for v in population.volunteers:
                f.write(json.dumps(volunteer_record(v, population.standings[v.id])) + "\n")
        with reqs.open("w") as f:
            for r in population.requests:
                f.write(json.dumps(request_record(r)) + "\n")
        summary = run_batch(vols, reqs, out, parse_volunteer=volunteer_from_record,
                            parse_request=request_from_record, progress=False)
        return round(summary.seconds["all"], 3)


def _fmt(x, spec: str = ".3f", missing: str = "n/a") -> str:
    return missing if x is None else format(x, spec)


def _gap(r: dict) -> str:
    """The certified distance to the best assignment keeping rule 10: places, else share of the objective."""
    if r["rule10_bound_places"]:
        return f"{r['rule10_bound_places']} places"
    return f"{r['rule10_bound_gap']:.5%}"


def print_table(rows: list[dict], out=sys.stdout) -> None:
    head = (f"{'size':>8} {'encode':>7} {'score':>7} {'assign':>7} {'total':>7} {'filled/max':>13} "
            f"{'score/opt':>9} {'gini':>5} {'1st-time':>8} {'viol':>4} {'offer ms':>8} {'repairs':>7} {'priced':>6} "
            f"{'r10 solves':>10} {'splits':>6} {'proven':>6} {'r10 gap <=':>10} {'r10 lost':>8} {'r10 score':>9}")
    print(head, file=out)
    for r in rows:
        filled = f"{r['filled']}/{r['max_places'] if r['max_places'] is not None else '?'}"
        print(f"{r['size']:>8} {r['encode']:>7.3f} {r['score']:>7.3f} {r['assign']:>7.3f} {r['total']:>7.3f} "
              f"{filled:>13} {_fmt(r['score_vs_optimum'], '.5f', 'proven'):>9} {r['gini']:>5.2f} "
              f"{r['first_time_share']:>8.0%} {r['violations']:>4} {r['one_offer_ms']:>8} {r['repairs']:>7} "
              f"{r['priced']:>6} {r['clash_solves']:>10} {r['clash_branches']:>6} "
              f"{'yes' if r['rule10_proven'] else 'NO':>6} {_gap(r):>10} {r['rule10_places_lost']:>8} "
              f"{r['rule10_score_share']:>9.5f}",
              file=out)
    print("\nbaselines, on the same instances (engine time = score + assign):", file=out)
    print(f"{'size':>8} {'solver':>8} {'seconds':>8} {'speedup':>8} {'score x':>8} {'filled x':>8}  note", file=out)
    for r in rows:
        for name in ("greedy", "hr"):
            b = r[name]
            if "speedup" not in b:
                print(f"{r['size']:>8} {name:>8} {'':>8} {'':>8} {'':>8} {'':>8}  {b['note']}", file=out)
                continue
            print(f"{r['size']:>8} {name:>8} {b['seconds']:>8.2f} {b['speedup']:>7.1f}x {b['score_ratio']:>7.3f}x "
                  f"{b['filled_ratio']:>7.3f}x  {b['note']}", file=out)
    print("speedup = baseline seconds / engine seconds; score x and filled x = engine / baseline", file=out)
    print("score/opt 'proven': too large for the unpruned solve; the engine's reduced-cost proof certifies "
          "its total optimal on the unpruned graph", file=out)
    print("filled/max and score/opt compare the solve before rule 10 within one solve (what pruning's proofs "
          "cover) with the unpruned one; r10 solves: solves again to keep meetings apart (each proven on the "
          "whole eligible graph); splits: branches of the search on chains of overlaps; proven: the result is the "
          "best assignment that keeps rule 10; r10 gap <=: how far below that best the result may be (the best "
          "bound still open when the search stopped); r10 lost: places the rule cost; r10 score: total with / "
          "without it (what the rule cost)", file=out)
    for r in rows:
        extra = [f"eligible pairs {r['eligible_pairs']:,}", f"candidate pairs {r['candidate_pairs']:,}",
                 f"max places proven by augmenting-path search: {r['proven_max']}"]
        if "unpruned_seconds" in r:
            extra.append(f"unpruned exact solve {r['unpruned_seconds']:.2f} s")
        fast_ratio = r.get("fast_vs_optimum")
        label = "score/opt"
        if fast_ratio is None:
            fast_ratio, label = r.get("fast_vs_proven"), "score/proven optimum"
        extra.append(
            f"without the score proof: score+assign {r['fast_seconds']:.2f} s, {label} {_fmt(fast_ratio, '.5f')}"
        )
        if "batch_seconds" in r:
            extra.append(f"batch function end to end {r['batch_seconds']:.2f} s")
        print(f"{r['size']}: " + "; ".join(extra), file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(SIZES), help=f"comma-separated, from {', '.join(SIZES)}")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--hr-timeout", type=float, default=60.0)
    parser.add_argument("--batch", action="store_true", help="also time the batch function end to end")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = parser.parse_args(argv)
    rows = []
    for label in args.sizes.split(","):
        n_requests, n_volunteers = SIZES[label.strip()]
        rows.append(one_size(label.strip(), n_requests, n_volunteers, args.seed, args.hr_timeout, args.batch))
        print(f"done {label}", file=sys.stderr, flush=True)
    print_table(rows)
    if args.json:
        print(json.dumps(rows, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
