"""Block scores are the same integers however a block is cut: by rows, by columns, wide or narrow.

Pruning, proposals and the assignment across cuts and CPUs: ``test_determinism.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from matcher.config import MatchingConfig
from matcher.engine import grid as score_module
from matcher.engine.incremental import score_offer
from matcher.engine.pipeline import encode
from matcher.generate import generate
from matcher.proposals import Candidate


@pytest.fixture(scope="module")
def pairing():
    population = generate(60, 700, seed=12)
    candidates = [Candidate(v, population.standings[v.id]) for v in population.volunteers]
    return encode(population.requests, candidates, population.open_counts, MatchingConfig())


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.int32)


def test_wide_and_narrow_lookups_agree(pairing, monkeypatch):
    rows = np.arange(len(pairing.requests))
    wide = pairing.block(rows)[1]
    monkeypatch.setattr(score_module, "WIDE_BLOCK", 10**9)
    narrow = pairing.block(rows)[1]
    assert (_bits(wide) == _bits(narrow)).all()
    columns = np.arange(0, len(pairing.volunteers), 7)
    assert (_bits(pairing.block(rows, columns)[1]) == _bits(wide[:, columns])).all()


def test_chunks_and_threads_give_the_same_blocks(pairing, monkeypatch):
    whole = pairing.block(np.arange(len(pairing.requests)))[1]
    monkeypatch.setattr(score_module, "CHUNK_ELEMENTS", 7 * len(pairing.volunteers))
    for workers in (1, 3):
        monkeypatch.setattr(score_module, "WORKERS", workers)
        parts = [s for _, s in pairing.chunks()]
        assert len(parts) > 1
        assert (_bits(np.concatenate(parts)) == _bits(whole)).all()


def test_one_offer_scores_as_in_the_full_grid(pairing):
    vol = pairing.volunteers
    j = int(np.argmax(vol.usable))
    candidate = Candidate(vol.volunteers[j], vol.standings[j])
    pairs = score_offer(pairing, candidate, MatchingConfig())
    assert pairs
    column = pairing.block(np.arange(len(pairing.requests)))[1][:, j]
    assert len(pairs) == int(np.isfinite(column).sum())
