"""The same people get the same suggestions everywhere.

Pruning, proposals and the assignment must not depend on how the grid is cut
into chunks, how many threads score it, whether a block takes the wide or the
narrow path, or which SIMD instructions numpy picks on this CPU. Scores are
integers (millionths), so every sum is exact in any order, and ties are broken
by volunteer index, never by where a sort happened to leave equal values.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.config import MatchingConfig
from matcher.engine import grid as score_module
from matcher.engine import run
from matcher.engine.candidates import prune
from matcher.engine.pipeline import encode
from matcher.generate import generate
from matcher.proposals import Candidate

ROOT = Path(__file__).resolve().parents[3]
# numpy 2.4 names its dispatch levels X86_V3/X86_V4; older releases name the features.
# Unknown names are ignored, so one list takes numpy down to its SSE baseline on any x86.
BASELINE_ONLY = "X86_V3 X86_V4 AVX512_ICL AVX512_SPR AVX512_SKX AVX512F AVX2 FMA3"


def _population(n_requests: int, n_volunteers: int, seed: int):
    population = generate(n_requests, n_volunteers, seed=seed)
    candidates = [Candidate(v, population.standings[v.id]) for v in population.volunteers]
    return population, candidates


def fingerprint(n_requests: int = 60, n_volunteers: int = 700, seed: int = 12) -> dict[str, str]:
    """Digests of what a coordinator would see: the candidate graph, the assignment, the proposals."""
    population, candidates = _population(n_requests, n_volunteers, seed)
    config = MatchingConfig()
    pairing = encode(population.requests, candidates, population.open_counts, config)
    edges = prune(pairing, per_volunteer=2)
    outcome = run(population.requests, candidates, population.open_counts, config)
    proposals = {
        rid: [(p.volunteer_id, p.role, p.score, p.rank, p.proposed) for p in items]
        for rid, items in sorted(outcome.proposals.items())
    }

    def digest(*arrays: np.ndarray) -> str:
        h = hashlib.sha256()
        for a in arrays:
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    return {
        "edges": digest(edges.rows, edges.cols, edges.score, edges.bound),
        "assignment": digest(outcome.assignment.rows, outcome.assignment.cols, outcome.assignment.score),
        "proposals": hashlib.sha256(json.dumps(proposals).encode()).hexdigest(),
    }


@pytest.fixture(scope="module")
def reference() -> dict[str, str]:
    return fingerprint()


@pytest.mark.parametrize(
    ("chunk_volunteers", "workers", "wide_block"),
    [(5, 1, None), (7, 3, None), (1, 2, None), (40, 2, 10**9), (3, 1, 1)],
    ids=["5-rows-1-thread", "7-rows-3-threads", "1-row", "narrow-path", "wide-path-always"],
)
def test_pruning_proposals_and_assignment_do_not_depend_on_chunks_threads_or_path(
    reference, monkeypatch, chunk_volunteers, workers, wide_block
):
    monkeypatch.setattr(score_module, "CHUNK_ELEMENTS", chunk_volunteers * 700)
    monkeypatch.setattr(score_module, "WORKERS", workers)
    if wide_block is not None:
        monkeypatch.setattr(score_module, "WIDE_BLOCK", wide_block)
    assert fingerprint() == reference


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows_per_chunk=st.integers(min_value=1, max_value=80), workers=st.integers(min_value=1, max_value=4))
def test_pruning_is_the_same_for_any_chunk_size(rows_per_chunk, workers, monkeypatch):
    population, candidates = _population(30, 400, seed=5)
    pairing = encode(population.requests, candidates, population.open_counts, MatchingConfig())
    whole = prune(pairing, per_volunteer=2)
    with monkeypatch.context() as m:
        m.setattr(score_module, "CHUNK_ELEMENTS", rows_per_chunk * len(pairing.volunteers))
        m.setattr(score_module, "WORKERS", workers)
        cut = prune(pairing, per_volunteer=2)
    for name in ("rows", "cols", "score", "bound"):
        assert np.array_equal(getattr(whole, name), getattr(cut, name)), name


def test_ties_at_a_rows_cut_keep_the_lowest_volunteers():
    """Equal scores straddling a shortlist's end: the lower volunteer indices stay, on every path."""
    population, candidates = _population(40, 500, seed=9)
    pairing = encode(population.requests, candidates, population.open_counts, MatchingConfig())
    edges = prune(pairing, per_place=1, margin=0, per_volunteer=0)
    _, grid = pairing.block(np.arange(len(pairing.requests)))
    checked = 0
    for row in range(len(pairing.requests)):
        kept = edges.cols[edges.rows == row]
        scores = grid[row]
        eligible = np.flatnonzero(np.isfinite(scores))
        if len(eligible) <= len(kept):
            continue
        # Best first, then lowest volunteer index: what the list must be, computed the slow way.
        expected = sorted(eligible.tolist(), key=lambda c: (-scores[c], c))[: len(kept)]
        assert sorted(kept.tolist()) == sorted(expected), row
        checked += 1
    assert checked > 10


def test_the_same_results_on_numpys_baseline_simd_path(reference):
    """A process with numpy's AVX2/AVX-512 paths switched off finds the same candidates, assignment and proposals."""
    code = (
        "import json, sys; sys.path.insert(0, '.');"
        "from tests.unit.engine.test_determinism import fingerprint;"
        "print(json.dumps(fingerprint()))"
    )
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": BASELINE_ONLY}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == reference
