"""The engine's policy settings live in MatchingConfig, and both scorers follow them."""

from __future__ import annotations

import dataclasses
import json

import pytest

from matcher.config import MatchingConfig
from matcher.engine import run
from matcher.engine.candidates import prune
from matcher.engine.pipeline import encode
from matcher.generate import generate
from matcher.proposals import Candidate
from matcher.rules import Standing
from matcher.scoring import fairness
from tests.unit.engine.test_scoring import _check_every_pair

POLICY = dataclasses.replace(
    MatchingConfig(), flexible_hours_for_full_fit=4.0, waiting_share=0.5, waiting_days_for_full_lift=90.0
)


def _population(n_requests: int, n_volunteers: int, seed: int):
    population = generate(n_requests, n_volunteers, seed=seed)
    candidates = [Candidate(v, population.standings[v.id]) for v in population.volunteers]
    return population, candidates


def test_defaults_are_the_documented_policy():
    config = MatchingConfig()
    assert config.flexible_hours_for_full_fit == 6.0
    assert config.waiting_share == 0.25
    assert config.waiting_days_for_full_lift == 180.0
    assert (config.shortlist_per_place, config.shortlist_margin, config.shortlist_per_volunteer) == (8, 40, 1)


def test_vectorised_equals_scalar_under_another_policy():
    population, candidates = _population(20, 200, seed=6)
    _check_every_pair(population.requests, candidates, population.open_counts, POLICY)


def test_waiting_settings_shape_fairness():
    newcomer = Standing(waiting_days=45)
    assert fairness(newcomer, MatchingConfig()) == pytest.approx(0.75 + 0.25 * 45 / 180)
    assert fairness(newcomer, POLICY) == pytest.approx(0.5 + 0.5 * 45 / 90)
    assert fairness(Standing(waiting_days=400), POLICY) == 1.0


def test_from_file_reads_the_policy(tmp_path):
    path = tmp_path / "matching.json"
    path.write_text(json.dumps({"flexible_hours_for_full_fit": 4, "waiting_share": 0.5, "shortlist_margin": 10}))
    config = MatchingConfig.from_file(path)
    assert config.flexible_hours_for_full_fit == 4.0 and isinstance(config.flexible_hours_for_full_fit, float)
    assert config.waiting_share == 0.5
    assert config.shortlist_margin == 10
    assert config.waiting_days_for_full_lift == 180.0  # untouched settings keep their defaults


def test_shortlist_settings_change_the_graph_not_the_result():
    population, candidates = _population(60, 400, seed=8)
    narrow = dataclasses.replace(MatchingConfig(), shortlist_per_place=1, shortlist_margin=2, shortlist_per_volunteer=0)
    wide = run(population.requests, candidates, population.open_counts, MatchingConfig())
    small = run(population.requests, candidates, population.open_counts, narrow)
    assert len(small.edges) < len(wide.edges)
    assert small.assignment.filled == wide.assignment.filled
    assert small.assignment.objective == pytest.approx(wide.assignment.objective, abs=1e-5)
    # Explicit arguments still win over the configuration.
    pairing = encode(population.requests, candidates, population.open_counts, narrow)
    assert len(prune(pairing, per_place=8, margin=40, per_volunteer=1)) == len(wide.edges)
