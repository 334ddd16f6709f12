"""The assignment: as many places filled as possible, then the best total score.

A min-cost max-flow, solved exactly by OR-Tools:

    source -> demand row (capacity: places open)
           -> volunteer, or via a (request, volunteer) node when the volunteer is
              a candidate for two roles of one request, so they get at most one
           -> sink (one arc per place they can still take)

Maximum flow is the most places that can be filled; among maximum flows the
solver minimises cost, i.e. maximises total score. The fairness term lives in
the volunteer -> sink arcs: a volunteer's second place in the same run costs
what their fairness factor would lose if the first were already committed, the
third more again. That spreads places over more people exactly as far as the
programme's fairness weight says, and never at the price of an unfilled place.

After each solve ``prove_max_places`` searches the *unpruned* eligible pairs for
an augmenting path from every unfilled row. None means no assignment at all
could fill more places (max-flow/min-cut); one means pruning cost a place, so
the rows on the search are widened to every eligible volunteer and solved again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from matcher.engine.candidates import Edges
from matcher.engine.score import Pairing
from matcher.scoring import fairness_fraction

SCALE = 1_000_000  # scores to integer costs, at the six decimals a factor carries


@dataclass(frozen=True)
class Assignment:
    rows: np.ndarray  # demand row of each assigned pair
    cols: np.ndarray  # volunteer of each assigned pair
    score: np.ndarray  # its (unrounded) score
    objective: float  # total score minus the spread term
    places_open: int
    repairs: int = 0  # times pruning had to be widened to keep every fillable place

    @property
    def filled(self) -> int:
        return len(self.rows)


def spread_costs(pairing: Pairing, cols: np.ndarray, units: int) -> np.ndarray:
    """(len(cols), units) cost of each volunteer's 1st, 2nd, ... place in this run."""
    vol = pairing.volunteers
    base = vol.previous[cols][:, None]
    waiting = vol.waiting_days[cols][:, None]
    k = np.arange(units)[None, :]
    # What their fairness factor would lose if the earlier places were already committed.
    first = fairness_fraction(base, waiting)
    return pairing.weights["fairness"] * (first - fairness_fraction(base + k, waiting))


def solve(pairing: Pairing, edges: Edges) -> Assignment:
    req, vol = pairing.requests, pairing.volunteers
    n_rows = len(req)
    places = int(req.row_open.sum())
    if not len(edges):
        return _empty(places)
    # A volunteer's capacity can never usefully exceed the places they are a candidate for.
    used_cols, col_of = np.unique(edges.cols, return_inverse=True)
    per_col = np.bincount(col_of)
    cap = np.minimum(vol.capacity[used_cols], per_col)
    n_vol = len(used_cols)

    # Pair nodes only where one volunteer is a candidate for two roles of one request.
    request_of = req.row_request[edges.rows]
    key = request_of * len(vol) + edges.cols
    _, pair_of, pair_count = np.unique(key, return_inverse=True, return_counts=True)
    needs_pair = pair_count[pair_of] > 1
    pair_keys, pair_local = np.unique(key[needs_pair], return_inverse=True)

    source, sink = 0, 1
    row_node = 2 + np.arange(n_rows)
    vol_node = 2 + n_rows + np.arange(n_vol)
    pair_node = 2 + n_rows + n_vol + np.arange(len(pair_keys))

    max_score = sum(pairing.weights.values()) + 1.0
    cost = np.rint((max_score - edges.score) * SCALE).astype(np.int64)
    tails, heads, caps, costs = [], [], [], []

    def arcs(t: np.ndarray, h: np.ndarray, c: np.ndarray, w: np.ndarray) -> None:
        tails.append(t)
        heads.append(h)
        caps.append(c)
        costs.append(w)

    open_rows = np.nonzero(req.row_open > 0)[0]
    arcs(np.full(len(open_rows), source), row_node[open_rows], req.row_open[open_rows], np.zeros(len(open_rows)))
    direct = ~needs_pair
    first_candidate_arc = sum(len(t) for t in tails)
    via_pair = 2 + n_rows + n_vol + _pair_node_index(needs_pair, pair_local)
    arcs(row_node[edges.rows], np.where(direct, vol_node[col_of], via_pair), np.ones(len(edges)), cost)
    if len(pair_keys):
        pair_vol = np.searchsorted(used_cols, pair_keys % len(vol))
        arcs(pair_node, vol_node[pair_vol], np.ones(len(pair_keys)), np.zeros(len(pair_keys)))
    units = int(cap.max())
    spread = np.rint(spread_costs(pairing, used_cols, units) * SCALE).astype(np.int64)
    unit_vol, unit_k = np.nonzero(np.arange(units)[None, :] < cap[:, None])
    arcs(vol_node[unit_vol], np.full(len(unit_vol), sink), np.ones(len(unit_vol)), spread[unit_vol, unit_k])

    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails).astype(np.int32),
        np.concatenate(heads).astype(np.int32),
        np.concatenate(caps).astype(np.int64),
        np.concatenate(costs).astype(np.int64),
    )
    # Offer every open place; the solver sends as much of it as can arrive, at least cost.
    flow.set_node_supply(source, places)
    flow.set_node_supply(sink, -places)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    candidate_flow = flow.flows(np.arange(first_candidate_arc, first_candidate_arc + len(edges)))
    chosen = np.nonzero(candidate_flow > 0)[0]
    rows, cols, score = edges.rows[chosen], edges.cols[chosen], edges.score[chosen]
    return Assignment(rows, cols, score, objective_of(pairing, cols, score), places)


def _pair_node_index(needs_pair: np.ndarray, pair_local: np.ndarray) -> np.ndarray:
    out = np.zeros(len(needs_pair), dtype=np.int64)
    out[needs_pair] = pair_local
    return out


def _empty(places: int) -> Assignment:
    z = np.zeros(0, dtype=np.int64)
    return Assignment(z, z, np.zeros(0), 0.0, places)


def objective_of(pairing: Pairing, cols: np.ndarray, score: np.ndarray) -> float:
    """Total score minus the spread term, as the solver counts it."""
    if not len(cols):
        return 0.0
    uniq, counts = np.unique(cols, return_counts=True)
    spread = spread_costs(pairing, uniq, int(counts.max()))
    penalty = sum(float(spread[i, : counts[i]].sum()) for i in range(len(uniq)))
    return float(score.sum()) - penalty


def augmenting_rows(pairing: Pairing, result: Assignment) -> np.ndarray | None:
    """Rows whose full candidate lists would let the solver fill one more place, or None.

    Breadth-first over the residual graph of the *unpruned* problem, from every
    row with places still open: through a volunteer with spare capacity there
    is an augmenting path (more places can be filled); through a full
    volunteer, on to the rows already holding them (they might let go and take
    someone else). No path from any unfilled row proves the place count is the
    maximum any assignment could reach.
    """
    req, vol = pairing.requests, pairing.volunteers
    filled = np.bincount(result.rows, minlength=len(req))
    frontier = np.nonzero(filled < req.row_open)[0]
    if not len(frontier):
        return None
    used = np.bincount(result.cols, minlength=len(vol))
    holders: dict[int, list[int]] = {}
    held_by: dict[tuple[int, int], int] = {}  # (request, volunteer) -> row they hold there
    for r, c in zip(result.rows.tolist(), result.cols.tolist(), strict=True):
        holders.setdefault(c, []).append(r)
        held_by[(int(req.row_request[r]), c)] = r
    seen_rows = set(frontier.tolist())
    seen_vols: set[int] = set()
    expanded: list[int] = []
    while len(frontier):
        frontier = np.sort(frontier)
        expanded.extend(frontier.tolist())
        nxt: set[int] = set()
        for start in range(0, len(frontier), 256):
            rows, s = pairing.block(frontier[start : start + 256])
            for i, c in zip(*np.nonzero(np.isfinite(s)), strict=True):
                row, col = int(rows[i]), int(c)
                held = held_by.get((int(req.row_request[row]), col))
                if held is not None:
                    # They already serve this request in another role: that row might swap them.
                    if held != row and held not in seen_rows:
                        nxt.add(held)
                    continue
                if col in seen_vols:
                    continue
                seen_vols.add(col)
                if used[col] < vol.capacity[col]:
                    return np.array(expanded, dtype=np.int64)
                nxt.update(h for h in holders.get(col, ()) if h not in seen_rows)
        seen_rows |= nxt
        frontier = np.array(sorted(nxt), dtype=np.int64)
    return None


def assign(pairing: Pairing, edges: Edges, prove: bool = True) -> Assignment:
    """Solve on the candidate graph; widen it until no place was lost to pruning."""
    repairs = 0
    while True:
        result = solve(pairing, edges)
        widen = augmenting_rows(pairing, result) if prove else None
        if widen is None:
            return Assignment(result.rows, result.cols, result.score, result.objective, result.places_open, repairs)
        repairs += 1
        extra = []
        for start in range(0, len(widen), 256):
            rows = np.sort(widen[start : start + 256])
            rows, s = pairing.block(rows)
            r, c = np.nonzero(np.isfinite(s))
            extra.append(Edges(rows[r], c, s[r, c]).rescored(pairing))
        wider = Edges.union([edges, *extra], len(pairing.volunteers))
        if len(wider) == len(edges):
            # The path runs through pairs already in the graph: the solver should have found it.
            raise RuntimeError("augmenting path inside the candidate graph; the flow was not maximum")
        edges = wider
