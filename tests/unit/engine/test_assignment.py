"""The assignment: rules kept, capacities respected, places maximal, output stable."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings

from matcher.config import MatchingConfig
from matcher.domain import TeamRequest, Volunteer, slots
from matcher.engine import encode, propose_all, run
from matcher.engine.candidates import everything, prune
from matcher.engine.flow import Assignment, assign_relaxed
from matcher.generate import generate
from matcher.proposals import Candidate, propose_for_request
from matcher.rules import Standing, screen
from tests.unit.engine.strategies import instance

CONFIG = MatchingConfig()


def relaxed(*args, **kwargs) -> Assignment:  # type: ignore[no-untyped-def]
    """The proven solve, before rule 10 keeps anyone's meetings apart: what pruning must not change."""
    return assign_relaxed(*args, **kwargs)[0]


def _check(requests, candidates, open_counts, proposals):
    by_request = {r.id: r for r in requests}
    by_volunteer = {c.volunteer.id: c for c in candidates}
    load: Counter[str] = Counter()
    for rid, items in proposals.items():
        request = by_request[rid]
        per_role: Counter[str] = Counter()
        on_request: set[str] = set()
        for p in items:
            cand = by_volunteer[p.volunteer_id]
            assert open_counts[rid].get(p.role, 0) > 0
            assert not screen(cand.volunteer, request, p.role, cand.standing, CONFIG), (rid, p)
            if p.proposed:
                per_role[p.role] += 1
                assert p.volunteer_id not in on_request  # never two roles on one request
                on_request.add(p.volunteer_id)
                load[p.volunteer_id] += 1
        for role, n in per_role.items():
            assert n <= open_counts[rid][role]
        alternates = [p for p in items if not p.proposed]
        assert len(alternates) <= CONFIG.alternates_per_request
        assert [p.rank for p in items] == list(range(1, len(items) + 1))
    for vid, n in load.items():
        assert n <= by_volunteer[vid].remaining
    # Rule 10 within the solve: nobody is proposed for two requests that meet at once.
    held: dict[str, list[str]] = {}
    for rid, items in proposals.items():
        for p in items:
            if p.proposed:
                held.setdefault(p.volunteer_id, []).append(rid)
    for vid, rids in held.items():
        for i, a in enumerate(rids):
            for b in rids[i + 1 :]:
                meets_a, meets_b = slots(by_request[a].meeting_slots), slots(by_request[b].meeting_slots)
                assert not any(x.overlaps(y) for x in meets_a for y in meets_b), (vid, a, b)


@settings(max_examples=80, deadline=None)
@given(instance())
def test_no_rule_broken_and_capacities_respected(case):
    requests, candidates, open_counts = case
    _check(requests, candidates, open_counts, propose_all(requests, candidates, open_counts, CONFIG))


@settings(max_examples=60, deadline=None)
@given(instance(max_requests=6, max_volunteers=15))
def test_pruned_solve_fills_as_many_places_as_the_unpruned_one(case):
    requests, candidates, open_counts = case
    pairing = encode(requests, candidates, open_counts, CONFIG)
    full = relaxed(pairing, everything(pairing), prove=False)
    # Deliberately starved candidate lists: only the proof and repair can keep the places.
    starved = relaxed(pairing, prune(pairing, per_place=0, margin=1, per_volunteer=0))
    assert starved.filled == full.filled
    # The score proof makes the starved graph's total the unpruned optimum (costs are whole millionths).
    assert abs(starved.objective - full.objective) <= 1e-6 * (full.filled + 1)


@settings(max_examples=40, deadline=None)
@given(instance())
def test_same_input_same_output_whatever_the_order(case):
    requests, candidates, open_counts = case
    first = propose_all(requests, candidates, open_counts, CONFIG)
    shuffled = list(candidates)
    random.Random(7).shuffle(shuffled)
    again = propose_all(list(reversed(requests)), shuffled, dict(reversed(open_counts.items())), CONFIG)
    assert first == again


def test_pruning_keeps_places_and_score_on_a_realistic_population():
    population = generate(120, 700, seed=11)
    candidates = [Candidate(v, population.standings[v.id]) for v in population.volunteers]
    pruned = run(population.requests, candidates, population.open_counts, CONFIG)
    full = run(population.requests, candidates, population.open_counts, CONFIG, pruned=False)
    # The proofs hold for the solve before rule 10 keeps people's meetings apart (keep_apart).
    assert pruned.assignment.relaxed_filled == full.assignment.relaxed_filled
    assert pruned.assignment.relaxed_objective is not None and full.assignment.relaxed_objective is not None
    assert pruned.assignment.relaxed_objective >= full.assignment.relaxed_objective - 1e-6 * (
        full.assignment.filled + 1
    )
    _check(population.requests, candidates, population.open_counts, pruned.proposals)


def test_a_tight_population_reaches_the_unpruned_optimum():
    # Few volunteers for many places: pruned lists alone fall short of the best total.
    population = generate(150, 260, seed=8)
    candidates = [Candidate(v, population.standings[v.id]) for v in population.volunteers]
    pairing = encode(population.requests, candidates, population.open_counts, CONFIG)
    full = relaxed(pairing, everything(pairing), prove=False)
    edges = prune(pairing, per_place=1, margin=2, per_volunteer=1)
    unproven = relaxed(pairing, edges, prove_score=False)
    proven = relaxed(pairing, edges)
    assert unproven.objective < full.objective - 1e-3
    assert proven.priced >= 1 and abs(proven.objective - full.objective) <= 1e-6 * (full.filled + 1)


def test_a_starved_graph_is_repaired_by_the_proof():
    population = generate(80, 300, seed=5)
    candidates = [Candidate(v, population.standings[v.id]) for v in population.volunteers]
    pairing = encode(population.requests, candidates, population.open_counts, CONFIG)
    full = relaxed(pairing, everything(pairing), prove=False)
    unproven = relaxed(pairing, prune(pairing, per_place=0, margin=1, per_volunteer=0), prove=False)
    proven = relaxed(pairing, prune(pairing, per_place=0, margin=1, per_volunteer=0))
    assert unproven.filled < full.filled  # the starved graph alone would lose places ...
    assert proven.filled == full.filled and proven.repairs >= 1  # ... the proof wins them back


def _person(vid: str, **kw) -> Volunteer:
    base = dict(
        id=vid,
        name=vid,
        email=f"{vid}@example.org",
        kind="carer",
        home_area="tower_hamlets",
        roles=["focus_group", "reviewer"],
        modes=["video"],
        availability=[{"day": "mon", "start": "09:00", "end": "17:00"}],
        max_commitments=2,
        consent_version="2026-01",
        consent_given_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return Volunteer(**{**base, **kw})


def _team(rid: str, **kw) -> TeamRequest:
    base = dict(
        id=rid,
        team_name=f"Team {rid}",
        project_title="p",
        area="tower_hamlets",
        qi_stage="understanding",
        roles=[{"role": "focus_group", "count": 1}],
        modes=["video"],
        contact_name="c",
        contact_email="c@x",
    )
    return TeamRequest(**{**base, **kw})


def test_one_volunteer_never_takes_two_roles_on_one_request():
    request = _team("r1", roles=[{"role": "focus_group", "count": 1}, {"role": "reviewer", "count": 1}])
    only = Candidate(_person("v1"), Standing())
    proposals = propose_for_request(request, [only], {"focus_group": 1, "reviewer": 1}, CONFIG)
    assert [p.proposed for p in proposals] == [True]


def test_fairness_spreads_places_over_more_people():
    # v1 is a little better for both requests (experience on r1, +0.10; language on r2,
    # +0.05), but a second place for v1 would cost 0.10 of fairness: two people each get one.
    v1 = _person("v1", experience=["anxiety"], languages=["bn"])
    v2 = _person("v2")
    requests = [_team("r1", experience_sought=["anxiety", "psychosis"]), _team("r2", languages=["bn"])]
    candidates = [Candidate(v1, Standing()), Candidate(v2, Standing())]
    out = propose_all(requests, candidates, {"r1": {"focus_group": 1}, "r2": {"focus_group": 1}}, CONFIG)
    chosen = {rid: [p.volunteer_id for p in ps if p.proposed] for rid, ps in out.items()}
    assert chosen == {"r1": ["v1"], "r2": ["v2"]}


def test_fill_comes_before_score():
    # v1 is the best for r1 but the only one who can do r2; filling both needs v1 on r2.
    v1 = _person("v1", max_commitments=1, experience=["anxiety"], roles=["focus_group", "speaker"])
    v2 = _person("v2", roles=["focus_group"])
    r1 = _team("r1", experience_sought=["anxiety"])
    r2 = _team("r2", roles=[{"role": "speaker", "count": 1}])
    out = propose_all(
        [r1, r2],
        [Candidate(v1, Standing()), Candidate(v2, Standing())],
        {"r1": {"focus_group": 1}, "r2": {"speaker": 1}},
        CONFIG,
    )
    assert [p.volunteer_id for p in out["r2"] if p.proposed] == ["v1"]
    assert [p.volunteer_id for p in out["r1"] if p.proposed] == ["v2"]


def test_reserved_capacity_elsewhere_is_respected():
    request = _team("r1", roles=[{"role": "focus_group", "count": 2}])
    busy = Candidate(_person("v1", max_commitments=1), Standing(), reserved_elsewhere=1)
    free = Candidate(_person("v2"), Standing())
    proposals = propose_for_request(request, [busy, free], {"focus_group": 2}, CONFIG)
    assert [(p.volunteer_id, p.proposed) for p in proposals] == [("v2", True), ("v1", False)]


def test_every_request_gets_an_entry_and_alternates_are_ranked():
    population = generate(30, 200, seed=2)
    candidates = [Candidate(v, population.standings[v.id]) for v in population.volunteers]
    out = propose_all(population.requests, candidates, population.open_counts, CONFIG)
    assert set(out) == {r.id for r in population.requests}
    for items in out.values():
        alternates = [p.score for p in items if not p.proposed]
        assert alternates == sorted(alternates, reverse=True)
    assert np.mean([any(p.proposed for p in items) for items in out.values()]) > 0.8


def _meeting_at(start: str, end: str, n: int, day: str = "tue") -> TeamRequest:
    return _team(f"r{n}", meeting_slots=[{"day": day, "start": start, "end": end}])


def _free_all_week(n: int, capacity: int) -> Candidate:
    free = [{"day": d, "start": "08:00", "end": "20:00"} for d in ("tue", "wed")]
    return Candidate(_person(f"v{n}", roles=["focus_group"], availability=free, max_commitments=capacity), Standing())


def test_one_solve_never_gives_a_person_two_requests_that_meet_at_once():
    """The only volunteer, with room for all four, is proposed for at most one of two clashing meetings."""
    clashing = [_meeting_at("10:00", "11:00", 1), _meeting_at("10:30", "11:30", 2)]
    apart = [_meeting_at("11:30", "12:30", 3), _meeting_at("10:00", "11:00", 4, day="wed")]
    requests = clashing + apart
    candidates = [_free_all_week(1, capacity=4)]
    counts = {r.id: {"focus_group": 1} for r in requests}
    outcome = run(requests, candidates, counts, CONFIG)
    proposed = {rid for rid, items in outcome.proposals.items() if any(p.proposed for p in items)}
    assert len(proposed & {"r1", "r2"}) == 1
    assert {"r3", "r4"} <= proposed  # touching ends and another day are no clash
    assert outcome.assignment.clash_solves >= 1
    assert outcome.assignment.clash_branches == 0  # two clashing requests are a clique: a group, no search
    assert outcome.assignment.proven
    _check(requests, candidates, counts, outcome.proposals)


def test_a_clash_costs_no_place_that_someone_else_can_fill():
    """Two volunteers, two clashing meetings: each gets one, though either could take both."""
    requests = [_meeting_at("10:00", "11:00", 1), _meeting_at("10:00", "11:00", 2)]
    candidates = [_free_all_week(1, capacity=2), _free_all_week(2, capacity=2)]
    counts = {r.id: {"focus_group": 1} for r in requests}
    outcome = run(requests, candidates, counts, CONFIG)
    assert outcome.assignment.filled == 2
    assert outcome.assignment.objective == outcome.assignment.relaxed_objective  # proven optimal
    _check(requests, candidates, counts, outcome.proposals)
