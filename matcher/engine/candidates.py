"""Which pairs go into the assignment: the candidate graph.

Scoring every pair is cheap; putting every eligible pair into the flow solver
is not (tens of millions of arcs at trust scale). So each demand row keeps its
best few volunteers, and each volunteer keeps their best few demand rows; the
second list is what lets the solver move a person who is good for a crowded
request to a scarce one they alone can fill.

Pruning must never cost a filled place. ``matcher.engine.flow`` proves that
for every solve (an augmenting-path search over the *unpruned* eligible pairs
from each unfilled row) and widens the graph where the proof fails, so the
lists here only decide how often that repair is needed, never the result's
place count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from matcher.engine.grid import Pairing, exact_scores, in_threads


@dataclass(frozen=True)
class Edges:
    """Eligible (demand row, volunteer) pairs with their score in millionths, sorted by row then volunteer."""

    rows: np.ndarray
    cols: np.ndarray
    score: np.ndarray
    # Per demand row, an upper bound on the score of any eligible volunteer left out of
    # its list (-inf when none was): what lets ``assign`` prove pruning cost no score.
    bound: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def union(cls, parts: list[Edges], n_cols: int) -> Edges:
        rows = np.concatenate([p.rows for p in parts]) if parts else np.zeros(0, np.int64)
        cols = np.concatenate([p.cols for p in parts]) if parts else np.zeros(0, np.int64)
        score = np.concatenate([p.score for p in parts]) if parts else np.zeros(0, np.int64)
        _, first = np.unique(rows * n_cols + cols, return_index=True)
        bound = next((p.bound for p in parts if p.bound is not None), None)
        return cls(rows[first], cols[first], score[first], bound)

    def rescored(self, pairing: Pairing) -> Edges:
        """The same pairs with their int64 scores in millionths, exactly as ``score_pair`` computes them."""
        return Edges(self.rows, self.cols, exact_scores(pairing, self.rows, self.cols), self.bound)


def _top_per_row(rows: np.ndarray, s: np.ndarray, keep: np.ndarray) -> tuple[Edges, np.ndarray]:
    """Each row's best ``keep`` volunteers (lower volunteer index on equal scores), and the best score left out.

    ``argpartition`` picks among equal values in an order that depends on the
    block's memory layout and the CPU's SIMD path, so where equal scores
    straddle a row's cut the row is decided again from its values alone.
    """
    n = s.shape[1]
    k = int(min(keep.max() + 1, n))  # one more than kept, to know the best one left out
    idx = np.argpartition(-s, k - 1, axis=1)[:, :k] if k < n else np.broadcast_to(np.arange(n), s.shape)
    val = np.take_along_axis(s, idx, axis=1)
    # Rank within the kept few by score, then volunteer index, so ties resolve the same way each run.
    order = np.lexsort((idx, -val), axis=1)
    idx = np.take_along_axis(idx, order, axis=1)
    val = np.take_along_axis(val, order, axis=1)
    left_out = np.full(len(rows), -np.inf)
    has_more = keep < k
    left_out[has_more] = val[has_more, keep[has_more]]
    if k < n:
        # The cut is unique where the last kept value beats the first left out; elsewhere
        # take every value above the cut and, of those equal to it, the lowest volunteers.
        last_kept = val[has_more, np.maximum(keep[has_more] - 1, 0)]
        straddles = (keep[has_more] > 0) & (last_kept == left_out[has_more]) & np.isfinite(last_kept)
        tied = np.flatnonzero(has_more)[straddles]
        if len(tied):
            idx, val = idx.copy(), val.copy()
        for width in np.unique(keep[tied]).tolist():  # rows keeping as many, decided together
            these = tied[keep[tied] == width]
            sub = s[these]
            cut = left_out[these][:, None]
            above = sub > cut
            equal = sub == cut
            need = width - above.sum(axis=1)
            chosen = above | (equal & (np.cumsum(equal, axis=1) <= need[:, None]))
            picked = np.nonzero(chosen)[1].reshape(len(these), width)
            picked_val = np.take_along_axis(sub, picked, axis=1)
            again = np.lexsort((picked, -picked_val), axis=1)
            idx[these, :width] = np.take_along_axis(picked, again, axis=1)
            val[these, :width] = np.take_along_axis(picked_val, again, axis=1)
    mask = np.isfinite(val) & (np.arange(k)[None, :] < keep[:, None])
    r = np.broadcast_to(rows[:, None], idx.shape)
    return Edges(r[mask], idx[mask], val[mask]), left_out


def _column_best(rows: np.ndarray, s: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(m, V) best scores down each column of a block and their rows, best first, lower row on ties.

    The same as ``argmax(axis=0)``, which numpy computes by copying the block
    into column order: instead one fast reduction finds each column's best,
    and another the first row holding it (rows weighted n, n - 1, ..., 1).
    """
    every_col = np.arange(s.shape[1])
    n = len(rows)
    dtype = np.uint8 if n < 256 else np.uint16 if n < 65_536 else np.int64
    first_weight = np.arange(n, 0, -1, dtype=dtype)[:, None]
    picks_val, picks_row = [], []
    rounds = min(m, n)
    for k in range(rounds):
        best = s.max(axis=0)
        hit = (s == best).view(np.uint8)
        at = n - np.maximum.reduce(hit * first_weight, axis=0).astype(np.int64)
        picks_val.append(best[None, :])
        picks_row.append(rows[at][None, :])
        if k + 1 < rounds:
            s[at, every_col] = -np.inf  # the row lists were already taken from this block
    if not picks_val:
        return np.zeros((0, s.shape[1]), dtype=s.dtype), np.zeros((0, s.shape[1]), dtype=np.int64)
    return np.concatenate(picks_val), np.concatenate(picks_row)


def prune(
    pairing: Pairing,
    per_place: int | None = None,
    margin: int | None = None,
    per_volunteer: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> Edges:
    """Score every pair once, in chunks, keeping the best candidates on both sides.

    Each demand row keeps ``per_place`` candidates per open place plus ``margin``
    (which also feeds the coordinator's ranked alternates); each volunteer keeps
    their best ``per_volunteer`` rows (one by default, so every eligible volunteer
    is in the graph and the solver can reach someone no request ranked highly).
    Left out, each comes from the pairing's ``MatchingConfig`` (``shortlist_*``).
    """
    config = pairing.config
    per_place = config.shortlist_per_place if per_place is None else per_place
    margin = config.shortlist_margin if margin is None else margin
    m = config.shortlist_per_volunteer if per_volunteer is None else per_volunteer
    n_vol = len(pairing.volunteers)
    keep_rows = pairing.requests.row_open * per_place + margin
    best_val: np.ndarray = np.full((m, n_vol), -np.inf, dtype=pairing.grid.dtype)
    best_row = np.zeros((m, n_vol), dtype=np.int64)
    parts: list[Edges] = []
    bound = np.full(len(pairing.requests), -np.inf)

    def one_chunk(rows: np.ndarray) -> tuple[np.ndarray, Edges, np.ndarray, np.ndarray, np.ndarray]:
        rows, s = pairing.block(rows)
        top, left_out = _top_per_row(rows, s, keep_rows[rows])
        val, row = _column_best(rows, s, m)
        return rows, top, left_out, val, row

    for rows, top, left_out, val, row in in_threads(one_chunk, pairing.row_chunks()):
        parts.append(top)
        bound[rows] = left_out
        if m:
            # Running top-m per volunteer, merged in row order: earlier rows win ties.
            val, row = np.concatenate([best_val, val]), np.concatenate([best_row, row])
            order = np.argsort(-val, axis=0, kind="stable")[:m]
            best_val = np.take_along_axis(val, order, axis=0)
            best_row = np.take_along_axis(row, order, axis=0)
        if on_chunk:
            on_chunk(len(rows))
    finite = np.isfinite(best_val)
    cols = np.broadcast_to(np.arange(n_vol)[None, :], best_val.shape)
    parts.append(Edges(best_row[finite], cols[finite], best_val[finite]))
    kept = Edges.union(parts, n_vol).rescored(pairing)
    return Edges(kept.rows, kept.cols, kept.score, bound)


def everything(pairing: Pairing) -> Edges:
    """Every eligible pair: the unpruned graph, for proofs and benchmarks."""
    parts = []
    for rows, s in pairing.chunks():
        r, c = np.nonzero(np.isfinite(s))
        parts.append(Edges(rows[r], c, s[r, c]))
    every = Edges.union(parts, len(pairing.volunteers)).rescored(pairing)
    return Edges(every.rows, every.cols, every.score, np.full(len(pairing.requests), -np.inf))
