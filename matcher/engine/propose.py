"""The engine's entry points: every open request at once, or one request.

``run`` does the whole job and keeps the pieces (timings, the assignment, the
arrays) for the batch command and the benchmarks; ``propose_all`` is what the
workers call and returns plain ``Proposal`` lists per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from matcher.config import MatchingConfig
from matcher.domain import TeamRequest
from matcher.engine.assign import Assignment, assign
from matcher.engine.candidates import Edges, everything, prune
from matcher.engine.encode import Vocabularies, encode_requests, encode_volunteers
from matcher.engine.score import FACTORS, Pairing, in_sorted, rounded_all
from matcher.proposals import Candidate, Proposal


@dataclass
class Outcome:
    pairing: Pairing
    edges: Edges
    assignment: Assignment
    proposals: dict[str, list[Proposal]]
    seconds: dict[str, float] = field(default_factory=dict)


def encode(
    requests: Sequence[TeamRequest],
    candidates: Sequence[Candidate],
    open_counts_by_request: dict[str, dict[str, int]],
    config: MatchingConfig,
) -> Pairing:
    vocab = Vocabularies.build([c.volunteer for c in candidates], requests, config)
    return Pairing.build(
        encode_requests(requests, open_counts_by_request, vocab, config),
        encode_volunteers(candidates, vocab, config),
        vocab,
        config,
    )


def run(
    requests: Sequence[TeamRequest],
    candidates: Sequence[Candidate],
    open_counts_by_request: dict[str, dict[str, int]],
    config: MatchingConfig,
    *,
    pruned: bool = True,
    prove_score: bool = True,
    on_chunk: Callable[[int], None] | None = None,
) -> Outcome:
    t0 = time.perf_counter()
    pairing = encode(requests, candidates, open_counts_by_request, config)
    t1 = time.perf_counter()
    edges = prune(pairing, on_chunk=on_chunk) if pruned else everything(pairing)
    t2 = time.perf_counter()
    # The unpruned graph is already complete: nothing left to prove.
    assignment = assign(pairing, edges, prove=pruned, prove_score=prove_score)
    proposals = explain(pairing, edges, assignment, config.alternates_per_request)
    t3 = time.perf_counter()
    seconds = {"encode": t1 - t0, "score": t2 - t1, "assign": t3 - t2, "total": t3 - t0}
    return Outcome(pairing, edges, assignment, proposals, seconds)


def propose_all(
    requests: Sequence[TeamRequest],
    candidates: Sequence[Candidate],
    open_counts_by_request: dict[str, dict[str, int]],
    config: MatchingConfig,
) -> dict[str, list[Proposal]]:
    """Assigned volunteers (``proposed``) then ranked alternates, for every request given.

    Every request appears in the result, with an empty list if nobody is eligible.
    """
    return run(requests, candidates, open_counts_by_request, config).proposals


def explain(pairing: Pairing, edges: Edges, assignment: Assignment, alternates: int) -> dict[str, list[Proposal]]:
    """Turn chosen and runner-up pairs into proposals with factors rounded as ``score_pair`` does."""
    req, vol = pairing.requests, pairing.volunteers
    assigned = {(int(r), int(c)) for r, c in zip(assignment.rows, assignment.cols, strict=True)}

    picks: list[tuple[int, int, bool]] = [(r, c, True) for r, c in sorted(assigned)]
    picks += [(r, c, False) for r, c in _alternates(pairing, edges, assignment, alternates)]

    out: dict[str, list[Proposal]] = {rid: [] for rid in req.ids}
    if not picks:
        return out
    rows = np.array([p[0] for p in picks], dtype=np.int64)
    cols = np.array([p[1] for p in picks], dtype=np.int64)
    factors, _ = pairing.pair_factors(rows, cols)
    scores, named = rounded_all(factors)
    request_of = req.row_request[rows].tolist()
    ranked: dict[str, list[tuple[bool, float, str, str, dict[str, float]]]] = {}
    for (r, c, proposed), q, score, parts in zip(picks, request_of, scores, named, strict=True):
        ranked.setdefault(req.ids[q], []).append((proposed, score, vol.ids[c], req.row_role[r], parts))
    for rid, items in ranked.items():
        # Assigned first, then alternates; within each, best score first, ids break ties.
        items.sort(key=lambda t: (not t[0], -t[1], t[2], t[3]))
        out[rid] = [
            Proposal(volunteer_id=v, role=role, score=s, factors=f, proposed=p, rank=i + 1)
            for i, (p, s, v, role, f) in enumerate(items)
        ]
    return out


def _alternates(pairing: Pairing, edges: Edges, assignment: Assignment, n: int) -> list[tuple[int, int]]:
    """Per request, the best ``n`` candidates not assigned to it, each volunteer once with their best role."""
    req, n_vol = pairing.requests, len(pairing.volunteers)
    request_of = req.row_request[edges.rows]
    # Best first within a request; volunteer and row break ties so the list is stable.
    order = np.lexsort((edges.rows, edges.cols, -np.round(edges.score, 6), request_of))
    key = request_of[order] * n_vol + edges.cols[order]
    first = np.zeros(len(order), dtype=bool)
    first[np.unique(key, return_index=True)[1]] = True  # each volunteer's best role on the request
    held = req.row_request[assignment.rows] * n_vol + assignment.cols
    keep = order[first & ~in_sorted(key, np.sort(held))]
    requests = request_of[keep]
    start = np.searchsorted(requests, requests)  # index of each request's first kept pair
    rank = np.arange(len(keep)) - start
    chosen = keep[rank < n]
    return list(zip(edges.rows[chosen].tolist(), edges.cols[chosen].tolist(), strict=True))


__all__ = ["FACTORS", "Outcome", "encode", "explain", "propose_all", "run"]
