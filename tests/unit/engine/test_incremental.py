"""One new offer scores one column, one new request one row, with the full scorer's answers."""

from __future__ import annotations

import dataclasses
import random

from matcher.config import MatchingConfig
from matcher.engine import encode, propose_all
from matcher.engine.incremental import requests_for_offer, score_offer, score_request
from matcher.generate import generate, make_request, make_volunteer
from matcher.proposals import Candidate
from matcher.rules import screen
from matcher.scoring import score_pair

CONFIG = MatchingConfig()


def _pool():
    population = generate(60, 400, seed=21)
    candidates = [Candidate(v, population.standings[v.id]) for v in population.volunteers]
    return population, candidates, encode(population.requests, candidates, population.open_counts, CONFIG)


def test_a_new_offer_is_scored_against_every_open_request():
    population, _, pairing = _pool()
    rng = random.Random(1)
    for n in range(10):
        volunteer, standing = make_volunteer(rng, 900_000 + n)
        got = {(p.team_request_id, p.role): p for p in score_offer(pairing, Candidate(volunteer, standing), CONFIG)}
        for request in population.requests:
            for role in population.open_counts[request.id]:
                eligible = not screen(volunteer, request, role, standing, CONFIG)
                assert ((request.id, role) in got) == eligible
                if eligible:
                    expected = score_pair(volunteer, request, role, standing, CONFIG)
                    assert got[(request.id, role)].factors == expected.factors
                    assert got[(request.id, role)].score == expected.score


def test_a_new_request_is_scored_against_every_volunteer():
    _, candidates, pairing = _pool()
    rng = random.Random(2)
    for n in range(5):
        request = make_request(rng, 900_000 + n, scarce=n % 2 == 0)
        open_counts = {r["role"]: r["count"] for r in request.roles}
        got = {(p.volunteer_id, p.role): p for p in score_request(pairing, request, open_counts, CONFIG)}
        for c in candidates:
            for role in open_counts:
                eligible = not screen(c.volunteer, request, role, c.standing, CONFIG)
                assert ((c.volunteer.id, role) in got) == eligible
                if eligible:
                    assert (
                        got[(c.volunteer.id, role)].factors
                        == score_pair(c.volunteer, request, role, c.standing, CONFIG).factors
                    )


def test_nothing_to_match_gives_empty_lists():
    population = generate(3, 5, seed=1)
    candidates = [Candidate(v, population.standings[v.id]) for v in population.volunteers]
    ids = [r.id for r in population.requests]
    assert propose_all(population.requests, [], population.open_counts, CONFIG) == {i: [] for i in ids}
    assert propose_all([], candidates, {}, CONFIG) == {}
    assert propose_all(population.requests, candidates, {}, CONFIG) == {i: [] for i in ids}


def test_a_newcomer_with_codes_only_the_other_side_uses_scores_like_the_scalar():
    population, _, _ = _pool()
    request = dataclasses.replace(
        population.requests[0],
        area="specialist_x",
        roles=[{"role": "rare_role", "count": 1}],
        modes=["in_person"],
        meeting_slots=[],
        required_trainings=[],
        experience_sought=["rare_tag"],
    )
    pool = [Candidate(v, population.standings[v.id]) for v in population.volunteers]
    pairing = encode([request], pool, {request.id: {"rare_role": 1}}, CONFIG)
    volunteer, standing = make_volunteer(random.Random(3), 999_999)
    volunteer = dataclasses.replace(
        volunteer,
        status="active",
        home_area="specialist_x",
        roles=["rare_role"],
        modes=["in_person"],
        experience=["rare_tag"],
        trainings=[],
    )
    got = score_offer(pairing, Candidate(volunteer, standing), CONFIG)
    expected = score_pair(volunteer, request, "rare_role", standing, CONFIG)
    assert not screen(volunteer, request, "rare_role", standing, CONFIG)
    assert [(p.score, p.factors) for p in got] == [(expected.score, expected.factors)]


def test_the_requests_an_offer_can_serve_are_those_the_rules_allow():
    """The workers' check for a changed offer (one grid column) agrees with screen, request by request."""
    population = generate(80, 60, seed=33)
    for volunteer in population.volunteers:
        standing = population.standings[volunteer.id]
        got = requests_for_offer(population.requests, Candidate(volunteer, standing), CONFIG)
        expected = sorted(
            r.id
            for r in population.requests
            if any(not screen(volunteer, r, role, standing, CONFIG) for role in r.role_codes)
        )
        assert got == expected, volunteer.id
