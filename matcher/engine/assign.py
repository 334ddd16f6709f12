"""The assignment with rule 10 kept within one solve: nobody gets two requests whose meetings overlap.

``flow`` solves the assignment without that rule between the requests of one
solve, exactly and proven on the whole eligible graph. Usually its best gives
nobody two such requests, and then it is the best with the rule too. Where it
does, ``keep_apart`` searches: every branch is again one of ``flow``'s solves,
with clash groups (constraints of the problem) and left-out pairs.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from itertools import count

from matcher.engine.candidates import Edges
from matcher.engine.clashes import ClashGroups, clashes_held, clique_groups, join_group, merge_into_groups
from matcher.engine.flow import Assignment, assign_relaxed
from matcher.engine.grid import Pairing
from matcher.scoring import SCALE


def assign(pairing: Pairing, edges: Edges, prove: bool = True, prove_score: bool = True) -> Assignment:
    """The best assignment with rule 10 kept within the solve (see ``keep_apart``)."""
    relaxed, edges = assign_relaxed(pairing, edges, prove, prove_score)
    return keep_apart(pairing, edges, relaxed, prove, prove_score)


@dataclass(frozen=True)
class Branch:
    """One node of ``keep_apart``'s search: clash groups (constraints of the problem) and left-out pairs."""

    groups: ClashGroups
    banned: frozenset[int]  # request * V + volunteer: this volunteer does not take this request here


# A search that has not closed after this many solves is finished strictly (``_strictly_apart``):
# the result keeps rule 10, and ``proven`` says its optimality was not proven. Each solve is a
# whole proven flow solve, so this bounds the time: a few independent chains of overlaps can
# need every combination of their splits.
BRANCH_LIMIT = 12


def keep_apart(
    pairing: Pairing, edges: Edges, relaxed: Assignment, prove: bool = True, prove_score: bool = True
) -> Assignment:
    """Rule 10 within one solve, exactly: nobody gets two requests whose meetings overlap.

    The relaxed optimum usually gives nobody such a pair, and then it is the
    optimum of the whole problem too. Where it does, a branch-and-bound search
    closes the gap. Each branch is still a flow problem, solved and proven on the
    whole eligible graph like the relaxed one:

    - requests of one person that all meet at once (a clique) become a clash
      group, a node of capacity 1 between their rows and the person: a
      constraint of the problem itself, so nothing is lost;
    - where a group cannot say it (a chain: A overlaps B, B overlaps C, A and C
      apart), the search branches on one clashing pair the person was given:
      one branch leaves A out for them, the other B. Every assignment that keeps
      the rule lies in one of the two.

    Branches are taken best bound first (most places, then the highest total
    less the spread term, both exact integers), and a branch whose relaxed
    optimum cannot beat the best assignment found is dropped, so the first
    clash-free optimum taken is the best of all. Among equal bounds the newest
    branch goes first (depth first): scores tie often, and taking ties in turn
    would try every equally good way around each clash before finishing one.
    """
    violations = clashes_held(pairing, relaxed)
    if not violations:
        return _finished(relaxed, relaxed, 0, 0, None)
    # The clashing volunteers' candidate requests that all meet at once become groups in one go.
    root = Branch(clique_groups(pairing, edges, set(violations)), frozenset())
    order = count()
    heap: list[tuple[tuple[int, int], int, Branch]] = [(_bound_key(relaxed), -next(order), root)]
    best: Assignment | None = None
    solves = branches = 0
    while heap:
        if best is not None and _bound_key(best) <= heap[0][0]:
            break  # no branch left can beat it
        if solves >= BRANCH_LIMIT:
            break  # the open branches stay on the heap: the best of them bounds the optimum
        _, _, branch = heapq.heappop(heap)
        result, edges = assign_relaxed(pairing, edges, prove, prove_score, branch.groups, branch.banned)
        solves += 1
        if best is not None and _bound_key(best) <= _bound_key(result):
            continue
        violations = clashes_held(pairing, result)
        if not violations:
            best = result
            continue
        tighter = tightened(pairing, branch.groups, violations)
        if tighter is not None:
            heapq.heappush(heap, (_bound_key(result), -next(order), Branch(tighter, branch.banned)))
            continue
        branches += 1
        col, a, b = _first_clash(pairing, violations)
        n_vol = len(pairing.volunteers)
        for left_out in (a, b):
            child = Branch(branch.groups, branch.banned | {left_out * n_vol + col})
            heapq.heappush(heap, (_bound_key(result), -next(order), child))
    proven = not heap or (best is not None and _bound_key(best) <= heap[0][0])
    bound = None if proven else heap[0][0]
    if not proven:
        # Cut short: finish the most promising open branch by grouping each person's clashing
        # requests whole (stricter than the rule for a chain), and keep the better result.
        finished, extra = _strictly_apart(pairing, edges, heap[0][2], prove, prove_score)
        solves += extra
        if best is None or _bound_key(finished) < _bound_key(best):
            best = finished
    assert best is not None
    return _finished(best, relaxed, solves, branches, bound)


def _strictly_apart(
    pairing: Pairing, edges: Edges, branch: Branch, prove: bool, prove_score: bool
) -> tuple[Assignment, int]:
    """A branch solved until nobody holds two clashing requests, merging groups where a split was due."""
    groups: ClashGroups = {col: list(gs) for col, gs in branch.groups.items()}
    solves = 0
    while True:
        result, edges = assign_relaxed(pairing, edges, prove, prove_score, groups, branch.banned)
        solves += 1
        violations = clashes_held(pairing, result)
        if not violations:
            return result, solves
        for col, requests in violations.items():
            merge_into_groups(groups.setdefault(col, []), requests)


def _bound_key(result: Assignment) -> tuple[int, int]:
    """Smaller is better (heapq is a min-heap): most places, then the highest objective, in millionths."""
    return (-result.filled, -round(result.objective * SCALE))


def tightened(pairing: Pairing, groups: ClashGroups, violations: dict[int, set[int]]) -> ClashGroups | None:
    """The groups with each clashing pair given to one person put into a group, where that keeps groups cliques.

    None when no clashing pair can be: every one needs a branch.
    """
    changed = False
    out: ClashGroups = {col: list(gs) for col, gs in groups.items()}
    for col in sorted(violations):
        held = sorted(violations[col])
        for i, a in enumerate(held):
            for b in held[i + 1 :]:
                if pairing.requests_clash(a, b) and join_group(pairing, out.setdefault(col, []), a, b):
                    changed = True
    return out if changed else None


def _first_clash(pairing: Pairing, violations: dict[int, set[int]]) -> tuple[int, int, int]:
    """The clashing pair to branch on: the first person's first pair, so runs agree."""
    col = min(violations)
    held = sorted(violations[col])
    for i, a in enumerate(held):
        for b in held[i + 1 :]:
            if pairing.requests_clash(a, b):
                return col, a, b
    raise AssertionError("a violation without a clashing pair")


def _finished(
    result: Assignment, relaxed: Assignment, solves: int, branches: int, bound: tuple[int, int] | None
) -> Assignment:
    """The result with the search's figures; ``bound`` is the best open branch's key when it was cut short."""
    filled, objective = (result.filled, result.objective) if bound is None else (-bound[0], -bound[1] / SCALE)
    return Assignment(
        result.rows,
        result.cols,
        result.score,
        result.objective,
        result.places_open,
        relaxed.repairs,
        relaxed.priced,
        clash_solves=solves,
        clash_branches=branches,
        proven=bound is None,
        bound_filled=filled,
        bound_objective=objective,
        relaxed_objective=relaxed.objective,
        relaxed_filled=relaxed.filled,
    )
