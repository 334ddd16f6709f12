"""Rule 10 within one solve is exact: the engine's assignment is as good as the best one that keeps it.

The reference is an integer program over every eligible pair, solved by CP-SAT:
most places first, then the highest total score less the spread term, with "at
most one of two requests that meet at once" for every person. Chains of
overlaps (9:00-10:00, 9:30-10:30, 10:00-11:00) are where a flow network alone
cannot say the rule, so the strategy's hour-long meetings on half-hour starts
make them common.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from matcher.config import MatchingConfig
from matcher.engine import assign, run
from matcher.engine.flow import spread_costs
from matcher.engine.grid import Pairing
from matcher.scoring import SCALE
from tests.unit.engine.strategies import TOPICS, instance
from tests.unit.engine.test_assignment import _check, _free_all_week, _meeting_at

CONFIG = MatchingConfig()


def best_keeping_rule_10(pairing: Pairing) -> tuple[int, int]:
    """(places, objective in millionths) of the best assignment of the whole eligible graph."""
    req, vol = pairing.requests, pairing.volunteers
    if not len(req):
        return 0, 0  # no place open anywhere
    rows, scores = pairing.block(np.arange(len(req)))
    pairs = [
        (int(r), int(c), int(scores[i, c])) for i, r in enumerate(rows) for c in np.flatnonzero(np.isfinite(scores[i]))
    ]
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{k}") for k in range(len(pairs))]
    by_row: dict[int, list[int]] = {}
    by_col: dict[int, list[int]] = {}
    by_col_request: dict[tuple[int, int], list[int]] = {}
    for k, (r, c, _) in enumerate(pairs):
        by_row.setdefault(r, []).append(k)
        by_col.setdefault(c, []).append(k)
        by_col_request.setdefault((c, int(req.row_request[r])), []).append(k)
    for r, ks in by_row.items():
        model.add(sum(x[k] for k in ks) <= int(req.row_open[r]))
    for ks in by_col_request.values():
        model.add(sum(x[k] for k in ks) <= 1)  # one role per request
    penalty = []
    for c, ks in by_col.items():
        model.add(sum(x[k] for k in ks) <= int(vol.capacity[c]))
        held = sorted({q for (cc, q) in by_col_request if cc == c})
        for i, a in enumerate(held):
            for b in held[i + 1 :]:
                if pairing.requests_clash(a, b):
                    model.add(sum(x[k] for k in by_col_request[(c, a)] + by_col_request[(c, b)]) <= 1)
        # The spread term: the n-th place of one person in this run costs the n-th step.
        steps = spread_costs(pairing, np.array([c]), len(ks))[0]
        owed = np.concatenate([[0], np.cumsum(steps)]).astype(np.int64).tolist()
        count = model.new_int_var(0, len(ks), f"n{c}")
        model.add(count == sum(x[k] for k in ks))
        cost = model.new_int_var(min(owed), max(owed), f"p{c}")
        model.add_element(count, owed, cost)
        penalty.append(cost)
    # Lexicographic, in two solves: the most places, then the best total with that many.
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    model.maximize(sum(x))
    assert solver.solve(model) == cp_model.OPTIMAL
    places = round(solver.objective_value)
    model.add(sum(x) == places)
    model.maximize(sum(s * x[k] for k, (_, _, s) in enumerate(pairs)) - sum(penalty))
    assert solver.solve(model) == cp_model.OPTIMAL
    total = sum(s for k, (_, _, s) in enumerate(pairs) if solver.value(x[k])) - sum(solver.value(p) for p in penalty)
    return places, int(total)


def _engine(outcome) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    a = outcome.assignment
    return a.filled, round(a.objective * SCALE)


def test_a_chain_of_overlaps_keeps_both_ends():
    """9:00, 9:30 and 10:00 starts: the ends don't meet at once, so one person can take both.

    The middle meeting is the one she would score best on alone; a solve that
    kept all three apart filled one place instead of two.
    """
    requests = [
        _meeting_at("09:00", "10:00", 1),
        _meeting_at("09:30", "10:30", 2),
        _meeting_at("10:00", "11:00", 3),
    ]
    requests[1].topics = ["medication"]  # the middle one suits her best
    person = _free_all_week(1, capacity=2)
    person.volunteer.interests = ["medication"]
    counts = {r.id: {"focus_group": 1} for r in requests}
    outcome = run(requests, [person], counts, CONFIG)
    proposed = {rid for rid, items in outcome.proposals.items() if any(p.proposed for p in items)}
    assert proposed == {"r1", "r3"}
    _check(requests, [person], counts, outcome.proposals)
    assert _engine(outcome) == best_keeping_rule_10(outcome.pairing)


@st.composite
def crowded_morning(draw):  # type: ignore[no-untyped-def]
    """Hour-long meetings on one morning at half-hour starts, and people free all day with room for several."""
    requests = []
    for n in range(draw(st.integers(2, 6))):
        start = 9 * 60 + 30 * draw(st.integers(0, 4))
        request = _meeting_at(f"{start // 60:02d}:{start % 60:02d}", f"{start // 60 + 1:02d}:{start % 60:02d}", n)
        request.topics = draw(st.lists(st.sampled_from(TOPICS), max_size=2, unique=True))
        requests.append(request)
    people = []
    for n in range(draw(st.integers(1, 3))):
        person = _free_all_week(n, capacity=draw(st.integers(1, 3)))
        person.volunteer.interests = draw(st.lists(st.sampled_from(TOPICS), max_size=2, unique=True))
        people.append(person)
    counts = {r.id: {"focus_group": draw(st.integers(1, 2))} for r in requests}
    return requests, people, counts


@settings(max_examples=120, deadline=None)
@given(st.one_of(crowded_morning(), instance(max_requests=6, max_volunteers=8)))
def test_the_assignment_is_the_best_that_keeps_rule_10(case):
    requests, candidates, open_counts = case
    outcome = run(requests, candidates, open_counts, CONFIG)
    _check(requests, candidates, open_counts, outcome.proposals)
    assert _engine(outcome) == best_keeping_rule_10(outcome.pairing)


@settings(max_examples=60, deadline=None)
@given(instance(max_requests=6, max_volunteers=8))
def test_the_unpruned_solve_agrees(case):
    requests, candidates, open_counts = case
    pruned = run(requests, candidates, open_counts, CONFIG)
    full = run(requests, candidates, open_counts, CONFIG, pruned=False)
    assert _engine(pruned) == _engine(full)


def _bound(outcome) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    a = outcome.assignment
    return a.bound_filled, round(a.bound_objective * SCALE)


def test_a_search_cut_short_still_keeps_the_rule_and_says_how_far_off_it_may_be():
    """The chain above with room for one solve: the search stops with its tightened branch still open.

    It used to take that last branch off the heap before stopping, then call the
    search proven with nothing found (an AssertionError in the live service).
    """
    requests = [_meeting_at("09:00", "10:00", 1), _meeting_at("09:30", "10:30", 2), _meeting_at("10:00", "11:00", 3)]
    requests[1].topics = ["medication"]
    person = _free_all_week(1, capacity=2)
    person.volunteer.interests = ["medication"]
    counts = {r.id: {"focus_group": 1} for r in requests}
    with mock.patch.object(assign, "BRANCH_LIMIT", 1):
        outcome = run(requests, [person], counts, CONFIG)
    _check(requests, [person], counts, outcome.proposals)
    assert not outcome.assignment.proven
    best = best_keeping_rule_10(outcome.pairing)
    assert _engine(outcome) <= best <= _bound(outcome)
    assert _bound(outcome)[0] == 2  # both ends could be hers: the bound says so, the result does not


@settings(max_examples=80, deadline=None)
@given(crowded_morning())
def test_a_search_cut_short_bounds_the_best_that_keeps_rule_10(case):
    """With one solve allowed, the result keeps the rule and the best lies between it and the bound."""
    requests, candidates, open_counts = case
    with mock.patch.object(assign, "BRANCH_LIMIT", 1):
        outcome = run(requests, candidates, open_counts, CONFIG)
    _check(requests, candidates, open_counts, outcome.proposals)
    best = best_keeping_rule_10(outcome.pairing)
    assert _engine(outcome) <= best <= _bound(outcome)
    if outcome.assignment.proven:
        assert _engine(outcome) == best == _bound(outcome)
