"""The counted factors as lookup tables, one set per request, kept beside the request arrays.

A factor that counts (codes shared with the request, meeting slots the volunteer
fits) takes one of a few values; ``Pairing._add_counted`` (``engine.grid``) sums
0/1 rows into a small index per volunteer and looks the factors' contributions
up by it. These tables depend only on the requests and the weights.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from matcher.engine.encode import RequestArrays
from matcher.scoring import weighted_micros

# A lookup table's index is a mixed-radix number of counts held in int16.
LOOKUP_LIMIT = 32_767


@dataclass(frozen=True)
class Lookups:
    """Per request, its counted factors as table lookups (see ``Pairing._add_counted``).

    A factor that counts (codes shared with the request, meeting slots the
    volunteer fits) takes one of a few values, count / n times its weight. A
    lookup packs several such counts into one mixed-radix index: each code or
    slot row of ``Grid.held`` is multiplied by its factor's radix and summed,
    and the table holds, for each index, the sum of the factors' rounded
    contributions. Factors go into as few lookups as keep every index below
    ``LOOKUP_LIMIT`` (usually one per request).
    """

    count: np.ndarray  # int (R,): lookups each request uses
    width: np.ndarray  # int (R, K): rows of ``held`` each lookup sums
    codes: np.ndarray  # int (R, K, W): those rows, padded with the all-zero row
    mults: np.ndarray  # int16 (R, K, W): their radices, padded with 0
    tables: np.ndarray  # grid dtype (R, K, L): contributions by index, padded with 0

    @classmethod
    def build(cls, factors: list[list[tuple[list[int], np.ndarray]]], zero_row: int, dtype: type) -> Lookups:
        """``factors[r]``: request r's counted factors, each (rows of ``held``, contribution by count)."""
        per_request: list[list[tuple[list[int], list[int], np.ndarray]]] = []
        for listed in factors:
            lookups: list[tuple[list[int], list[int], np.ndarray]] = []
            codes: list[int] = []
            mults: list[int] = []
            table = np.zeros(1)
            for rows, by_count in listed:
                if len(table) * len(by_count) > LOOKUP_LIMIT + 1 and codes:
                    lookups.append((codes, mults, table))
                    codes, mults, table = [], [], np.zeros(1)
                radix = len(table)
                codes += rows
                mults += [radix] * len(rows)
                # Index i holds digit (i // radix) % len(by_count) for this factor.
                table = (table[None, :] + by_count[:, None]).reshape(-1)
            if codes:
                lookups.append((codes, mults, table))
            per_request.append(lookups)
        n_req = len(per_request)
        k_max = max((len(x) for x in per_request), default=0)
        w_max = max((len(c) for x in per_request for c, _, _ in x), default=0)
        l_max = max((len(t) for x in per_request for _, _, t in x), default=1)
        count = np.array([len(x) for x in per_request], dtype=np.int64)
        width = np.zeros((n_req, k_max), dtype=np.int64)
        codes_a = np.full((n_req, k_max, w_max), zero_row, dtype=np.int64)
        mults_a = np.zeros((n_req, k_max, w_max), dtype=np.int16)
        tables: np.ndarray = np.zeros((n_req, k_max, l_max), dtype=dtype)
        for r, lookups in enumerate(per_request):
            for k, (c, m, t) in enumerate(lookups):
                width[r, k] = len(c)
                codes_a[r, k, : len(c)] = c
                mults_a[r, k, : len(m)] = m
                tables[r, k, : len(t)] = t
        return cls(count, width, codes_a, mults_a, tables)


def counted_lookups(
    req: RequestArrays,
    w: dict[str, float],
    tag_blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]],
    offsets: np.ndarray,
    slot_offset: int,
    zero_row: int,
    dtype: type,
) -> Lookups:
    """The requests' counted factors as lookups: the same for every volunteer, so kept per request arrays."""
    n_req = len(req.ids)
    # Each counted factor's rows of `held` per request, and its contribution by count for
    # every request at once: count / n as the scalar scorer divides, then rounded.
    per_factor: list[tuple[list[list[int]], np.ndarray]] = []
    for (_, sought, n_sought, weight), offset in zip(tag_blocks, offsets.tolist(), strict=False):
        at, code = np.nonzero(sought[:n_req])
        codes = _split_by_request(at, code + offset, n_req)
        most = max((len(c) for c in codes), default=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            fraction = np.arange(most + 1)[None, :] / np.where(n_sought > 0, n_sought, 1.0)[:, None]
        per_factor.append((codes, weighted_micros(weight, fraction).astype(np.float64)))
    at, slot = np.nonzero(req.slot_lists >= 0)
    slot_rows = _split_by_request(at, slot_offset + req.slot_lists[at, slot], n_req)
    with np.errstate(divide="ignore", invalid="ignore"):
        listed = np.where(req.slot_n > 0, req.slot_n, 1.0)[:, None]
        fraction = np.arange(req.slot_lists.shape[1] + 1)[None, :] / listed
    by_slots = weighted_micros(w["availability"], fraction).astype(np.float64)
    by_slots[:, 0] = -np.inf  # a fixed-time request that none of its slots fits breaks rule 5
    per_factor.append((slot_rows, by_slots))
    counted = [
        [(rows[r], by_count[r, : len(rows[r]) + 1]) for rows, by_count in per_factor if rows[r]]
        for r in range(n_req)
    ]
    return Lookups.build(counted, zero_row, dtype)


class _PerRequests:
    """Lookups kept beside the request arrays they were made from.

    A new or changed offer is scored as one column against the same open requests
    (``engine.incremental``): their lookups are made once, not on every offer.
    Entries go when their request arrays are collected.
    """

    def __init__(self) -> None:
        self._kept: dict[int, tuple[tuple[object, ...], Lookups]] = {}
        self._lock = threading.Lock()

    def get(self, req: RequestArrays, key: tuple[object, ...], make: Callable[[], Lookups]) -> Lookups:
        with self._lock:
            hit = self._kept.get(id(req))
        if hit is not None and hit[0] == key:
            return hit[1]
        made = make()
        with self._lock:
            if id(req) not in self._kept:
                weakref.finalize(req, self._forget, id(req))
            self._kept[id(req)] = (key, made)
        return made

    def _forget(self, ident: int) -> None:
        with self._lock:
            self._kept.pop(ident, None)


REQUEST_LOOKUPS = _PerRequests()


def _split_by_request(at: np.ndarray, values: np.ndarray, n_req: int) -> list[list[int]]:
    """``values`` (sorted by ``at``, their request) as one list per request."""
    bounds = np.searchsorted(at, np.arange(n_req + 1)).tolist()
    flat = values.tolist()
    return [flat[bounds[r] : bounds[r + 1]] for r in range(n_req)]


