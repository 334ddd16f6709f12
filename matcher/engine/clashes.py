"""Rule 10 within one solve: which requests a person was given at once that meet at once,
and the clash groups (at most one of these for this person: requests that all meet at
once) that ``engine.assign.keep_apart`` adds to the flow network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from matcher.engine.candidates import Edges
from matcher.engine.grid import Pairing

if TYPE_CHECKING:
    from matcher.engine.flow import Assignment

# Per volunteer (column), sets of requests (indices) of which they may take at most one.
ClashGroups = dict[int, list[frozenset[int]]]


def clashes_held(pairing: Pairing, result: Assignment) -> dict[int, set[int]]:
    """Per volunteer given two or more requests whose meetings overlap: those requests."""
    req = pairing.requests
    request_of = req.row_request[result.rows]
    order = np.argsort(result.cols, kind="stable")
    cols, requests = result.cols[order], request_of[order]
    out: dict[int, set[int]] = {}
    if not len(cols):
        return out
    starts = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1]])
    for lo, hi in zip(starts.tolist(), [*starts[1:].tolist(), len(cols)], strict=True):
        if hi - lo < 2:
            continue
        held = sorted(set(requests[lo:hi].tolist()))
        for i, a in enumerate(held):
            for b in held[i + 1 :]:
                if pairing.requests_clash(a, b):
                    out.setdefault(int(cols[lo]), set()).update((a, b))
    return out


# Volunteers with more candidate requests than this are left to the rounds: their request
# pairs grow with the square (an unpruned graph gives some people hundreds of requests).
CLIQUE_SEARCH_LIMIT = 200


def clique_groups(pairing: Pairing, edges: Edges, volunteers: set[int]) -> ClashGroups:
    """For these volunteers, each set of their candidate requests whose meetings all overlap each other.

    The clash graph of each one's candidate requests, split into connected
    components; a component that is a clique is a group. Components that are not
    cliques are left to ``keep_apart``'s search.
    """
    req = pairing.requests
    n_req = len(req.ids)
    mine = np.isin(edges.cols, np.fromiter(volunteers, dtype=np.int64, count=len(volunteers)))
    pair_key = np.unique(edges.cols[mine] * n_req + req.row_request[edges.rows[mine]])  # (volunteer, request)
    col, request = pair_key // n_req, pair_key % n_req
    first = np.searchsorted(col, col)  # each node's volunteer's first node
    size = np.bincount(first, minlength=len(col))[first]
    a_parts, b_parts = [], []
    for k in np.unique(size[(size > 1) & (size <= CLIQUE_SEARCH_LIMIT)]).tolist():  # pairs within a volunteer, by size
        starts = np.unique(first[size == k])
        i, j = np.triu_indices(k, 1)
        a_parts.append((starts[:, None] + i[None, :]).reshape(-1))
        b_parts.append((starts[:, None] + j[None, :]).reshape(-1))
    if not a_parts:
        return {}
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)
    hit = pairing.requests_clash_many(request[a], request[b])
    a, b = a[hit], b[hit]
    label = np.arange(len(col))
    while True:  # connected components by label propagation (components are small)
        low = np.minimum(label[a], label[b])
        before = label.copy()
        np.minimum.at(label, a, low)
        np.minimum.at(label, b, low)
        label = label[label]
        if np.array_equal(label, before):
            break
    nodes = np.bincount(label, minlength=len(col))
    inside = np.bincount(label[a], minlength=len(col))
    clique = (nodes >= 2) & (inside == nodes * (nodes - 1) // 2)
    groups: ClashGroups = {}
    order = np.argsort(label, kind="stable")
    at = np.searchsorted(label[order], np.arange(len(col)))
    for root in np.flatnonzero(clique).tolist():
        members = order[at[root] : at[root] + nodes[root]]
        groups.setdefault(int(col[root]), []).append(frozenset(request[members].tolist()))
    return groups


def join_group(pairing: Pairing, groups: list[frozenset[int]], a: int, b: int) -> bool:
    """Put two clashing requests into one of the volunteer's groups if the result is still a clique.

    Groups stay disjoint (each request reaches the volunteer through one node) and
    each a clique, so every group is a constraint of the problem itself. False when
    that is impossible: then the search must branch.
    """
    with_a = next((g for g in groups if a in g), None)
    with_b = next((g for g in groups if b in g), None)
    if with_a is not None and with_a is with_b:
        return False
    members = (with_a or frozenset({a})) | (with_b or frozenset({b}))
    ordered = sorted(members)
    if not all(pairing.requests_clash(x, y) for i, x in enumerate(ordered) for y in ordered[i + 1 :]):
        return False
    groups[:] = [g for g in groups if g is not with_a and g is not with_b] + [frozenset(members)]
    return True


def merge_into_groups(groups: list[frozenset[int]], requests: set[int]) -> None:
    """Put clashing requests into one group with every group they touch, clique or not.

    Stricter than rule 10 for a chain (A with B, B with C: at most one of the
    three); used only to finish a search that was cut short, where a result that
    keeps the rule is wanted at once.
    """
    members = set(requests)
    keep = []
    for g in groups:
        if g & members:
            members |= g
        else:
            keep.append(g)
    groups[:] = [*keep, frozenset(members)]
