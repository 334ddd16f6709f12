"""The flow solve under the assignment: as many places filled as possible, then the best total score.

Rule 10 between the requests of one solve is kept by ``engine.assign``'s search, whose
every branch is one of these solves (its clash groups and left-out pairs).

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

The solve runs on a pruned candidate graph, and two proofs make that safe:

- places: ``augmenting_rows`` searches the *unpruned* eligible pairs for an
  augmenting path from every unfilled row. None means no assignment at all
  could fill more places (max-flow/min-cut); one means pruning cost a place,
  so the rows on the search are widened to every eligible volunteer;
- score: ``price`` takes node potentials from the solved residual graph
  (shortest paths, so every residual arc has a non-negative reduced cost) and
  looks for a left-out pair with a negative reduced cost. None means the
  potentials certify the flow optimal on the unpruned graph too (at the
  solver's integer costs); any found are added and the graph solved again.
  Most rows are certified without rescoring, by an upper bound on the best
  score their list left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from matcher.engine.candidates import Edges
from matcher.engine.clashes import ClashGroups
from matcher.engine.grid import Pairing, in_sorted, in_threads
from matcher.scoring import SCALE, fairness_fraction, weighted_micros


@dataclass(frozen=True)
class Assignment:
    rows: np.ndarray  # demand row of each assigned pair
    cols: np.ndarray  # volunteer of each assigned pair
    score: np.ndarray  # its score, in millionths
    objective: float  # total score minus the spread term (in score units)
    places_open: int
    repairs: int = 0  # times pruning had to be widened to keep every fillable place
    priced: int = 0  # times left-out pairs were added back because they could raise the score
    clash_solves: int = 0  # solves again because someone got two requests meeting at once (rule 10)
    clash_branches: int = 0  # of those, splits of the search on a chain of overlaps (see ``keep_apart``)
    proven: bool = True  # False only when ``keep_apart``'s search was cut short (``BRANCH_LIMIT``)
    # The most places and then the best objective any assignment keeping rule 10 could reach:
    # this result's own when proven, else the best bound still open when the search stopped.
    bound_filled: int | None = None
    bound_objective: float | None = None
    relaxed_objective: float | None = None  # the same solve without rule 10 between its requests
    relaxed_filled: int | None = None

    @property
    def filled(self) -> int:
        return len(self.rows)

    @property
    def places_in_doubt(self) -> int:
        """Places the best assignment keeping rule 10 might fill beyond these (0 when proven)."""
        return (self.filled if self.bound_filled is None else self.bound_filled) - self.filled

    @property
    def score_gap(self) -> float:
        """With as many places, how far below the best total this may be, as a share (0 when proven)."""
        bound = self.objective if self.bound_objective is None else self.bound_objective
        return (bound - self.objective) / bound if bound else 0.0


def spread_costs(pairing: Pairing, cols: np.ndarray, units: int) -> np.ndarray:
    """(len(cols), units) cost in millionths of each volunteer's 1st, 2nd, ... place in this run."""
    vol = pairing.volunteers
    base = vol.previous[cols][:, None]
    waiting = vol.waiting_days[cols][:, None]
    k = np.arange(units)[None, :]
    # What their fairness factor would lose if the earlier places were already committed.
    weight = pairing.weights["fairness"]
    first = weighted_micros(weight, fairness_fraction(base, waiting, pairing.config))
    return first - weighted_micros(weight, fairness_fraction(base + k, waiting, pairing.config))


@dataclass(frozen=True)
class Network:
    """The solved flow network, kept for the optimality proof."""

    tails: np.ndarray
    heads: np.ndarray
    caps: np.ndarray
    costs: np.ndarray
    flows: np.ndarray
    n_nodes: int
    sink: int
    row_node: np.ndarray  # node of each demand row
    vol_node: np.ndarray  # node of each volunteer, -1 if not in the graph
    pair_keys: np.ndarray  # request * V + volunteer, sorted, for pairs routed via a pair node
    pair_node: np.ndarray
    group_keys: np.ndarray  # volunteer * R + request, sorted, for pairs routed via a clash node
    group_node: np.ndarray  # the clash node of each key


def banned_keys(banned: frozenset[int]) -> np.ndarray:
    """A branch's left-out (request, volunteer) pairs as sorted keys request * V + volunteer."""
    return np.array(sorted(banned), dtype=np.int64)


def without_banned(pairing: Pairing, edges: Edges, banned: frozenset[int]) -> Edges:
    if not banned:
        return edges
    key = pairing.requests.row_request[edges.rows] * len(pairing.volunteers) + edges.cols
    keep = ~in_sorted(key, banned_keys(banned))
    return Edges(edges.rows[keep], edges.cols[keep], edges.score[keep], edges.bound)


def solve_network(
    pairing: Pairing, edges: Edges, groups: ClashGroups | None = None, banned: frozenset[int] = frozenset()
) -> tuple[Assignment, Network | None]:
    req, vol = pairing.requests, pairing.volunteers
    n_rows = len(req)
    places = int(req.row_open.sum())
    edges = without_banned(pairing, edges, banned)
    if not len(edges):
        return _empty(places), None
    used_cols, col_of = np.unique(edges.cols, return_inverse=True)
    # No volunteer can take more places than their candidate pairs here, but one unit
    # arc beyond that stays: it is the cheapest unused one, all the optimality proof needs.
    cap = np.minimum(vol.capacity[used_cols], np.bincount(col_of) + 1)
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
    # Clash nodes (rule 10 within one solve): one per group, capacity 1 on to the volunteer.
    group_keys, group_of_key, group_vol = _clash_nodes(groups or {}, len(req.ids))
    group_node = 2 + n_rows + n_vol + len(pair_keys) + np.arange(len(group_vol))

    def onward(request: np.ndarray, local_col: np.ndarray) -> np.ndarray:
        """Where a (request, volunteer) unit goes after its row or pair node: a clash node, else the volunteer."""
        heads = vol_node[local_col].copy()
        if len(group_keys):
            key = used_cols[local_col] * len(req.ids) + request
            at = np.minimum(np.searchsorted(group_keys, key), len(group_keys) - 1)
            hit = group_keys[at] == key
            heads[hit] = group_node[group_of_key[at[hit]]]
        return heads

    cost = max_cost(pairing) - edges.score
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
    arcs(row_node[edges.rows], np.where(direct, onward(request_of, col_of), via_pair), np.ones(len(edges)), cost)
    if len(pair_keys):
        pair_vol = np.searchsorted(used_cols, pair_keys % len(vol))
        arcs(pair_node, onward(pair_keys // len(vol), pair_vol), np.ones(len(pair_keys)), np.zeros(len(pair_keys)))
    if len(group_vol):
        group_local = np.searchsorted(used_cols, group_vol)
        arcs(group_node, vol_node[group_local], np.ones(len(group_vol)), np.zeros(len(group_vol)))
    units = max(int(cap.max()), 0)
    spread = spread_costs(pairing, used_cols, units)
    unit_vol, unit_k = np.nonzero(np.arange(units)[None, :] < cap[:, None])
    arcs(vol_node[unit_vol], np.full(len(unit_vol), sink), np.ones(len(unit_vol)), spread[unit_vol, unit_k])

    flow = min_cost_flow.SimpleMinCostFlow()
    all_tails = np.concatenate(tails).astype(np.int32)
    all_heads = np.concatenate(heads).astype(np.int32)
    all_caps = np.concatenate(caps).astype(np.int64)
    all_costs = np.concatenate(costs).astype(np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(all_tails, all_heads, all_caps, all_costs)
    # Offer every open place; the solver sends as much of it as can arrive, at least cost.
    flow.set_node_supply(source, places)
    flow.set_node_supply(sink, -places)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    flows = flow.flows(np.arange(len(all_tails)))
    candidate_flow = flows[first_candidate_arc : first_candidate_arc + len(edges)]
    chosen = np.nonzero(candidate_flow > 0)[0]
    rows, cols, score = edges.rows[chosen], edges.cols[chosen], edges.score[chosen]
    vol_node_all = np.full(len(vol), -1, dtype=np.int64)
    vol_node_all[used_cols] = vol_node
    network = Network(
        all_tails.astype(np.int64),
        all_heads.astype(np.int64),
        all_caps,
        all_costs,
        np.asarray(flows),
        2 + n_rows + n_vol + len(pair_keys) + len(group_vol),
        sink,
        row_node,
        vol_node_all,
        pair_keys,
        pair_node,
        group_keys,
        group_node[group_of_key] if len(group_keys) else np.zeros(0, dtype=np.int64),
    )
    result = Assignment(rows, cols, score, objective_of(pairing, cols, score), places)
    return result, network


def _clash_nodes(groups: ClashGroups, n_requests: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted keys volunteer * R + request, the group each key belongs to, and each group's volunteer."""
    keys: list[int] = []
    owner: list[int] = []
    group_vol: list[int] = []
    for col in sorted(groups):
        for members in groups[col]:
            for q in sorted(members):
                keys.append(col * n_requests + q)
                owner.append(len(group_vol))
            group_vol.append(col)
    order = np.argsort(np.array(keys, dtype=np.int64), kind="stable")
    return np.array(keys, dtype=np.int64)[order], np.array(owner, dtype=np.int64)[order], np.array(group_vol)


def max_cost(pairing: Pairing) -> int:
    """An arc costs this minus its score: positive for every pair, so the solver maximises the total."""
    return sum(weighted_micros(weight, 1.0) for weight in pairing.weights.values()) + SCALE


def _pair_node_index(needs_pair: np.ndarray, pair_local: np.ndarray) -> np.ndarray:
    out = np.zeros(len(needs_pair), dtype=np.int64)
    out[needs_pair] = pair_local
    return out


def _empty(places: int) -> Assignment:
    z = np.zeros(0, dtype=np.int64)
    return Assignment(z, z, np.zeros(0), 0.0, places)


def objective_of(pairing: Pairing, cols: np.ndarray, score: np.ndarray) -> float:
    """Total score minus the spread term, as the solver counts it (integers, so in any order)."""
    if not len(cols):
        return 0.0
    uniq, counts = np.unique(cols, return_counts=True)
    spread = spread_costs(pairing, uniq, int(counts.max()))
    penalty = int(spread[np.arange(spread.shape[1])[None, :] < counts[:, None]].sum())
    return (int(score.sum()) - penalty) / SCALE


def augmenting_rows(
    pairing: Pairing, result: Assignment, groups: ClashGroups | None = None, banned: frozenset[int] = frozenset()
) -> np.ndarray | None:
    """Rows whose full candidate lists would let the solver fill one more place, or None.

    Breadth-first over the residual graph of the *unpruned* problem, from every
    row with places still open: through a volunteer with spare capacity there
    is an augmenting path (more places can be filled); through a full
    volunteer, on to the rows already holding them (they might let go and take
    someone else). No path from any unfilled row proves the place count is the
    maximum any assignment could reach.

    Within a branch of ``keep_apart`` the search keeps to the branch: it skips
    the pairs the branch leaves out, and a clash group whose one place is taken
    leads on to the row holding it, not to the volunteer.
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
    group_of = {(col, q): members for col, gs in (groups or {}).items() for members in gs for q in members}
    n_vol = len(vol)
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
                request = int(req.row_request[row])
                if banned and request * n_vol + col in banned:
                    continue
                held = held_by.get((request, col))
                if held is not None:
                    # They already serve this request in another role: that row might swap them.
                    if held != row and held not in seen_rows:
                        nxt.add(held)
                    continue
                members = group_of.get((col, request))
                holding = [held_by[(m, col)] for m in sorted(members or ()) if (m, col) in held_by]
                if holding:
                    # Their one place in this clash group is taken: that row might let them go.
                    if holding[0] not in seen_rows:
                        nxt.add(holding[0])
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


def potentials(net: Network) -> np.ndarray:
    """Shortest-path distances in the residual graph from a root joined to every node.

    With an optimal flow the residual graph has no negative cycle, so these
    exist, and every residual arc (u, v) then has c(u, v) + p(u) - p(v) >= 0.
    Bellman-Ford, one vectorised relaxation of every arc per round.
    """
    forward = net.flows < net.caps
    backward = net.flows > 0
    tails = np.concatenate([net.tails[forward], net.heads[backward]])
    heads = np.concatenate([net.heads[forward], net.tails[backward]])
    costs = np.concatenate([net.costs[forward], -net.costs[backward]])
    # Grouped by head; the order within a group does not matter (a minimum of integers).
    order = np.argsort(heads)
    tails, heads, costs = tails[order], heads[order], costs[order]
    targets, starts = np.unique(heads, return_index=True)
    dist = np.zeros(net.n_nodes, dtype=np.int64)
    for _ in range(net.n_nodes + 1):
        best = np.minimum.reduceat(dist[tails] + costs, starts)
        better = best < dist[targets]
        if not better.any():
            return dist
        dist[targets[better]] = best[better]
    raise RuntimeError("negative cycle in the residual graph: the flow was not optimal")


# Once some pair proves the graph too narrow, also add pairs that nearly do (within 0.02
# of score), from rows whose bound comes within 0.005 of doing so: the potentials move
# after the next solve, and this usually saves another round (one solve instead of two
# at 2k x 20k, where integer scores tie more often than the float32 sums did).
NEAR = 20_000
DOUBT = 5_000


def price(
    pairing: Pairing, edges: Edges, net: Network, bound: np.ndarray, banned: frozenset[int] = frozenset()
) -> Edges | None:
    """Left-out pairs with a negative reduced cost (they could raise the total), or None: optimal.

    A branch's left-out pairs are not in its problem, so they are never priced.
    """
    req, vol = pairing.requests, pairing.volunteers
    n_vol = len(vol)
    ban = banned_keys(banned)
    pi = potentials(net)
    top = max_cost(pairing)
    pi_row = pi[net.row_node]
    # A volunteer outside the graph would sit one free unit arc (cost 0) from the sink.
    pi_vol = np.where(vol.capacity > 0, min(0, int(pi[net.sink])), 0).astype(np.int64)
    inside = net.vol_node >= 0
    pi_vol[inside] = pi[net.vol_node[inside]]
    # Rows certified without rescoring: nothing they left out can beat the potentials.
    # Block scores are exact, so the bound is too: no slack is needed.
    with np.errstate(invalid="ignore"):
        cheapest = top - bound
    doubtful = np.nonzero((req.row_open > 0) & (cheapest + pi_row - pi_vol.max() < DOUBT))[0]
    if not len(doubtful):
        return None
    have = np.sort(edges.rows * n_vol + edges.cols)
    found = []
    proof_fails = False
    pi_max = int(pi_vol.max())

    def above_floor(rows: np.ndarray) -> Edges | None:
        rows, s = pairing.block(rows)
        # A pair can only come near a negative reduced cost above this score; most fall below,
        # so the exact reduced costs are computed for a few pairs, not whole rows.
        floor = top + pi_row[rows] - pi_max - NEAR
        r, c = np.nonzero(s > floor[:, None])  # compared in float64: potentials may pass 2**24
        if not len(r):
            return None
        rr, cc = rows[r], c
        new = ~in_sorted(rr * n_vol + cc, have)
        if len(ban):
            new &= ~in_sorted(req.row_request[rr] * n_vol + cc, ban)
        if not new.any():
            return None
        return Edges(rr[new], cc[new], s[r, c][new]).rescored(pairing)

    blocks = [doubtful[start : start + 64] for start in range(0, len(doubtful), 64)]
    for cand in in_threads(above_floor, blocks):
        if cand is None:
            continue
        cost = top - cand.score
        # Through the pair node when this volunteer already has one on the request.
        key = req.row_request[cand.rows] * n_vol + cand.cols
        at = np.searchsorted(net.pair_keys, key)
        at_ok = at < len(net.pair_keys)
        via_pair = np.zeros(len(key), dtype=bool)
        via_pair[at_ok] = net.pair_keys[at[at_ok]] == key[at_ok]
        head_pi = pi_vol[cand.cols].copy()
        if len(net.group_keys):
            # Through the clash node when the request is in one of the volunteer's groups.
            gkey = cand.cols * len(req.ids) + req.row_request[cand.rows]
            gat = np.minimum(np.searchsorted(net.group_keys, gkey), len(net.group_keys) - 1)
            in_group = net.group_keys[gat] == gkey
            head_pi[in_group] = pi[net.group_node[gat[in_group]]]
        head_pi[via_pair] = pi[net.pair_node[at[via_pair]]]
        reduced_exact = cost + pi_row[cand.rows] - head_pi
        proof_fails = proof_fails or bool((reduced_exact < 0).any())
        near = reduced_exact < NEAR
        found.append(Edges(cand.rows[near], cand.cols[near], cand.score[near]))
    if not proof_fails:
        return None
    return Edges.union(found, n_vol)


def assign_relaxed(
    pairing: Pairing,
    edges: Edges,
    prove: bool = True,
    prove_score: bool = True,
    groups: ClashGroups | None = None,
    banned: frozenset[int] = frozenset(),
) -> tuple[Assignment, Edges]:
    """Solve on the candidate graph; widen it until neither places nor score were lost to pruning.

    This solves the contract's assignment without rule 10 between the requests of one
    solve (a relaxation of it), or, given a branch of ``keep_apart`` (its clash groups and
    left-out pairs), that branch's relaxation. ``prove`` off trusts the graph as given (the
    unpruned graph needs no proof); ``prove_score`` off keeps the place proof but skips the
    score proof, which saves a solve or two for a total that is typically within 0.01% of
    optimal. Returns the assignment and the graph it was proven on.
    """
    repairs = priced = 0
    n_rows = len(pairing.requests)
    # Unknown bounds cannot certify anything: those rows are always rescored.
    bound = edges.bound.copy() if edges.bound is not None else np.full(n_rows, np.inf)
    while True:
        result, net = solve_network(pairing, edges, groups, banned)
        proven = Edges(edges.rows, edges.cols, edges.score, bound)
        if not prove or net is None:
            return _with(result, repairs, priced), proven
        widen = augmenting_rows(pairing, result, groups, banned)
        if widen is not None:
            repairs += 1
            extra = []
            for start in range(0, len(widen), 256):
                rows = np.sort(widen[start : start + 256])
                rows, s = pairing.block(rows)
                r, c = np.nonzero(np.isfinite(s))
                extra.append(Edges(rows[r], c, s[r, c]).rescored(pairing))
            bound[widen] = -np.inf  # these rows now hold every eligible volunteer
            wider = Edges.union([edges, *extra], len(pairing.volunteers))
            if len(wider) == len(edges):
                # The path runs through pairs already in the graph: the solver should have found it.
                raise RuntimeError("augmenting path inside the candidate graph; the flow was not maximum")
            edges = wider
            continue
        better = price(pairing, edges, net, bound, banned) if prove_score else None
        if better is None:
            return _with(result, repairs, priced), proven
        priced += 1
        edges = Edges.union([edges, better], len(pairing.volunteers))


def _with(result: Assignment, repairs: int, priced: int) -> Assignment:
    return Assignment(result.rows, result.cols, result.score, result.objective, result.places_open, repairs, priced)
