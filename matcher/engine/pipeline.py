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
from matcher.engine.assign import assign
from matcher.engine.candidates import Edges, everything, prune
from matcher.engine.encode import Vocabularies, encode_requests, encode_volunteers
from matcher.engine.flow import Assignment
from matcher.engine.grid import FACTORS, Pairing, in_sorted, rounded_all
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


def propose_encoded(pairing: Pairing, config: MatchingConfig) -> dict[str, list[Proposal]]:
    """``propose_all`` for requests and volunteers already encoded together (a kept population's
    ``Pairing``): the same pruning, exact assignment and explanation as ``run``."""
    edges = prune(pairing)
    assignment = assign(pairing, edges, prove=True, prove_score=True)
    return explain(pairing, edges, assignment, config.alternates_per_request)


def explain(pairing: Pairing, edges: Edges, assignment: Assignment, alternates: int) -> dict[str, list[Proposal]]:
    """Turn chosen and runner-up pairs into proposals with factors as ``score_pair`` gives them."""
    req, vol = pairing.requests, pairing.volunteers
    n_vol = max(len(vol), 1)
    held = np.unique(assignment.rows * n_vol + assignment.cols)  # assigned pairs, by row then volunteer
    alt_rows, alt_cols = _alternates(pairing, edges, assignment, alternates)
    rows = np.concatenate([held // n_vol, alt_rows]).astype(np.int64)
    cols = np.concatenate([held % n_vol, alt_cols]).astype(np.int64)
    proposed = np.arange(len(rows)) < len(held)

    out: dict[str, list[Proposal]] = {rid: [] for rid in req.ids}
    if not len(rows):
        return out
    factors, _ = pairing.pair_factors(rows, cols)
    scores, named = rounded_all(factors)
    # Per request: assigned first, then alternates; within each, best score first, then
    # volunteer id, then role. Sorted as arrays, so no tuple is made per proposal.
    ids = np.asarray(vol.ids)
    id_rank = np.concatenate([[0], np.cumsum(ids[1:] != ids[:-1])]) if len(ids) else ids  # ids are sorted
    _, role_rank = np.unique(np.asarray(req.row_role), return_inverse=True)
    request_of = req.row_request[rows]
    order = np.lexsort(
        (role_rank.reshape(-1)[rows], id_rank[cols], -np.array(scores), ~proposed, request_of)
    )
    request_sorted = request_of[order]
    rank = np.arange(len(order)) - np.searchsorted(request_sorted, request_sorted) + 1
    row_list, col_list, proposed_list = rows.tolist(), cols.tolist(), proposed.tolist()
    for k, q, i in zip(order.tolist(), request_sorted.tolist(), rank.tolist(), strict=True):
        out[req.ids[q]].append(
            Proposal(
                volunteer_id=vol.ids[col_list[k]],
                role=req.row_role[row_list[k]],
                score=scores[k],
                factors=named[k],
                proposed=proposed_list[k],
                rank=i,
            )
        )
    return out


def _alternates(pairing: Pairing, edges: Edges, assignment: Assignment, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per request, the best ``n`` candidates not assigned to it, each volunteer once with their best role."""
    req, n_vol = pairing.requests, len(pairing.volunteers)
    request_of = req.row_request[edges.rows]
    # Best first within a request; volunteer and row break ties so the list is stable.
    order = np.lexsort((edges.rows, edges.cols, -edges.score, request_of))
    key = request_of[order] * n_vol + edges.cols[order]
    first = np.zeros(len(order), dtype=bool)
    first[np.unique(key, return_index=True)[1]] = True  # each volunteer's best role on the request
    held = req.row_request[assignment.rows] * n_vol + assignment.cols
    keep = order[first & ~in_sorted(key, np.sort(held))]
    requests = request_of[keep]
    start = np.searchsorted(requests, requests)  # index of each request's first kept pair
    rank = np.arange(len(keep)) - start
    chosen = keep[rank < n]
    return edges.rows[chosen], edges.cols[chosen]


__all__ = ["FACTORS", "Outcome", "encode", "explain", "propose_all", "propose_encoded", "run"]
