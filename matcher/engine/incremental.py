"""Incremental scoring: one new or changed offer is one column, one new request one row.

The open requests (or the volunteer pool) stay encoded in a ``Pairing``; the
newcomer is encoded with the same vocabularies and scored against them alone,
so a worker reacting to one submission never rescores everybody.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matcher.config import MatchingConfig
from matcher.domain import TeamRequest
from matcher.engine.encode import encode_requests, encode_volunteers
from matcher.engine.grid import Pairing, rounded
from matcher.engine.pipeline import encode
from matcher.engine.population import Population
from matcher.proposals import Candidate


@dataclass(frozen=True)
class Pair:
    team_request_id: str
    volunteer_id: str
    role: str
    score: float
    factors: dict[str, float]


def _ranked(pairing: Pairing, rows: np.ndarray, cols: np.ndarray) -> list[Pair]:
    factors, ok = pairing.pair_factors(rows, cols)
    req, vol = pairing.requests, pairing.volunteers
    out = []
    for k in np.nonzero(ok)[0].tolist():
        score, named = rounded(factors, k)
        row = int(rows[k])
        out.append(Pair(req.ids[int(req.row_request[row])], vol.ids[int(cols[k])], req.row_role[row], score, named))
    out.sort(key=lambda p: (-p.score, p.team_request_id, p.volunteer_id, p.role))
    return out


def requests_for_offer(
    requests: Sequence[TeamRequest], candidate: Candidate, config: MatchingConfig
) -> list[str]:
    """Ids of the requests this offer passes every hard rule for, in at least one of their roles.

    One column of the grid: the requests are encoded with the one volunteer, so a
    changed offer is checked against every open request at numpy's speed, by the
    very rules (and the very code) that score it.
    """
    every_role = {r.id: {role: 1 for role in r.role_codes} for r in requests}
    pairing = encode(requests, [candidate], every_role, config)
    if not len(pairing.requests):
        return []
    rows, s = pairing.block(np.arange(len(pairing.requests)))
    hit = rows[np.isfinite(s[:, 0])]
    return sorted({pairing.requests.ids[int(i)] for i in pairing.requests.row_request[hit]})


def requests_for_kept(
    population: Population, requests: Sequence[TeamRequest], volunteer_ids: Sequence[str]
) -> set[str]:
    """Ids of the requests at least one of these kept volunteers passes every hard rule for.

    ``requests_for_offer`` for volunteers a worker keeps encoded: their columns are
    taken from the population (nobody encoded again) and scored against every
    request's rows at once. Volunteers not kept (not active) serve none.
    """
    if not requests or not any(v in population for v in volunteer_ids):
        return set()
    every_role = {r.id: {role: 1 for role in r.role_codes} for r in requests}
    pairing = population.pairing(requests, every_role, None, volunteer_ids=volunteer_ids)
    if not len(pairing.requests):
        return set()
    rows, s = pairing.block(np.arange(len(pairing.requests)))
    hit = rows[np.isfinite(s).any(axis=1)]
    return {pairing.requests.ids[int(i)] for i in pairing.requests.row_request[hit]}


def score_offer(pairing: Pairing, candidate: Candidate, config: MatchingConfig) -> list[Pair]:
    """Every open request-role this volunteer is eligible for, best first."""
    volunteer = encode_volunteers([candidate], pairing.vocab, config)
    column = Pairing.build(pairing.requests, volunteer, pairing.vocab, config)
    rows, s = column.block(np.arange(len(pairing.requests)))
    hit = np.nonzero(np.isfinite(s[:, 0]))[0]
    return _ranked(column, rows[hit], np.zeros(len(hit), dtype=np.int64))


def score_request(
    pairing: Pairing, request: TeamRequest, open_counts: dict[str, int], config: MatchingConfig
) -> list[Pair]:
    """Every eligible volunteer for each open role of one request, best first."""
    requests = encode_requests([request], {request.id: open_counts}, pairing.vocab, config)
    row = Pairing.build(requests, pairing.volunteers, pairing.vocab, config)
    if not len(requests):
        return []
    rows, s = row.block(np.arange(len(requests)))
    r, c = np.nonzero(np.isfinite(s))
    return _ranked(row, rows[r], c)
