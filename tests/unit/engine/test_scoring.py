"""The vectorised scorer is the scalar scorer, factor by factor, and the factors behave."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.config import MatchingConfig
from matcher.engine import encode
from matcher.engine.grid import FACTORS, rounded
from matcher.generate import generate
from matcher.proposals import Candidate
from matcher.rules import Standing, screen
from matcher.scoring import SCALE, score_pair
from tests.unit.engine.strategies import DAYS, instance, request, standing, volunteer

CONFIG = MatchingConfig()


def _check_every_pair(requests, candidates, open_counts, config=CONFIG):
    pairing = encode(requests, candidates, open_counts, config)
    req, vol = pairing.requests, pairing.volunteers
    if not len(req) or not len(vol):
        return
    blocks = [s for _, s in pairing.chunks()]
    grid = np.concatenate(blocks)
    rows, cols = (a.ravel() for a in np.meshgrid(np.arange(len(req)), np.arange(len(vol)), indexing="ij"))
    factors, ok = pairing.pair_factors(rows, cols)
    for k, (r, c) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
        request_, role = req.requests[req.row_request[r]], req.row_role[r]
        volunteer_, standing_ = vol.volunteers[c], vol.standings[c]
        eligible = not screen(volunteer_, request_, role, standing_, config)
        assert eligible == bool(ok[k]) == bool(np.isfinite(grid[r, c])), (request_.id, volunteer_.id, role)
        if eligible:
            expected = score_pair(volunteer_, request_, role, standing_, config)
            score, named = rounded(factors, k)
            assert named == expected.factors  # exactly, not approximately
            assert score == expected.score
            # The grid holds the very same integer: no tolerance, whatever path or block shape.
            assert float(grid[r, c]) == sum(int(factors[name][k]) for name in FACTORS)
            assert float(grid[r, c]) / SCALE == expected.score


def test_vectorised_equals_scalar_on_a_generated_population():
    population = generate(40, 300, seed=3)
    candidates = [Candidate(v, population.standings[v.id]) for v in population.volunteers]
    _check_every_pair(population.requests, candidates, population.open_counts)


def test_vectorised_equals_scalar_with_programme_weights():
    config = dataclasses.replace(CONFIG, weights={**CONFIG.weights, "fairness": 0.5, "language": 0.0})
    population = generate(20, 200, seed=4)
    candidates = [Candidate(v, population.standings[v.id]) for v in population.volunteers]
    _check_every_pair(population.requests, candidates, population.open_counts, config)


@settings(max_examples=60, deadline=None)
@given(instance())
def test_vectorised_equals_scalar_on_random_instances(case):
    _check_every_pair(*case)


@settings(max_examples=200, deadline=None)
@given(volunteer(), request(), standing(["r000"]), st.sampled_from(["project_team_member", "focus_group"]))
def test_factors_are_bounded_and_sum_to_the_score(v, r, s, role):
    scored = score_pair(v, r, role, s, CONFIG)
    assert list(scored.factors) == list(FACTORS)
    for name, value in scored.factors.items():
        assert 0.0 <= value <= CONFIG.weights[name] + 1e-9
    assert scored.score == round(sum(scored.factors.values()), 6)
    assert all(round(value * SCALE) / SCALE == value for value in scored.factors.values())


def _improvements(v, r, s):
    """Changes to a pair that can only make one factor better (or leave it)."""
    yield "experience", dataclasses.replace(v, experience=sorted(set(v.experience) | set(r.experience_sought[:1]))), s
    yield "topics", dataclasses.replace(v, interests=sorted(set(v.interests) | set(r.topics[:1]))), s
    yield "language", dataclasses.replace(v, languages=sorted(set(v.languages) | set(r.languages[:1]))), s
    yield "place", dataclasses.replace(v, home_area=r.area), s
    yield "place", dataclasses.replace(v, travel_areas=sorted(set(v.travel_areas) | {r.area})), s
    yield "availability", dataclasses.replace(v, availability=[*v.availability, *r.meeting_slots[:1]]), s
    yield (
        "availability",
        dataclasses.replace(
            v, availability=[*v.availability, *({"day": d, "start": "08:00", "end": "20:00"} for d in DAYS)]
        ),
        s,
    )
    yield (
        "stage_readiness",
        dataclasses.replace(v, trainings=[*v.trainings, {"code": "qi_introduction", "completed_on": "2025-01-01"}]),
        s,
    )
    yield "fairness", v, dataclasses.replace(s, involvements=max(s.involvements - 1, 0))
    yield "fairness", v, dataclasses.replace(s, waiting_days=s.waiting_days + 30)
    yield "role_preference", dataclasses.replace(v, roles=[v.roles[-1], *v.roles[:-1]]), s


@settings(max_examples=200, deadline=None)
@given(volunteer(), request(), standing(["r000"]))
def test_improving_one_factor_never_lowers_the_score(v, r, s):
    role = v.roles[-1]  # the role moved to the front by the role-preference improvement
    before = score_pair(v, r, role, s, CONFIG)
    for name, better_v, better_s in _improvements(v, r, s):
        after = score_pair(better_v, r, role, better_s, CONFIG)
        assert after.factors[name] >= before.factors[name], name
        assert after.score >= before.score - 1e-6 * len(FACTORS), name  # rounding only


def test_why_not_names_every_rule_broken():
    population = generate(1, 1, seed=0)
    v, r = population.volunteers[0], population.requests[0]
    v = dataclasses.replace(v, status="paused", roles=["reviewer"], excluded_teams=[f"  {r.team_name.upper()} "])
    reasons = screen(v, r, "speaker", Standing(active_commitments=5, matched_request_ids=frozenset({r.id})), CONFIG)
    assert {"not_active", "role_not_offered", "team_excluded", "at_capacity", "already_matched"} <= set(reasons)
