"""Vectorised scoring: the factors of ``matcher.scoring.score_pair``, for many pairs at once.

Two paths, for two jobs:

- the *grid* (``Pairing.block``/``chunks``) scores demand rows x volunteers in
  float32 from a few precomputed per-volunteer profiles (see ``Grid``), in
  chunks so memory stays bounded whatever the sizes. It decides eligibility
  exactly and scores to within a few millionths; it is what choosing
  candidates needs, and it is fast;
- the *exact* path (``pair_factors``) recomputes chosen pairs in float64 with
  the scalar scorer's arithmetic step for step (integer counts divided by
  integer lengths, the same constants), so each weighted factor is the very
  same float and rounds to the same six decimals as ``score_pair``.

The unit tests check both against ``score_pair`` and ``screen`` pair by pair.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from matcher.config import MatchingConfig
from matcher.engine.encode import RequestArrays, Vocabularies, VolunteerArrays, slot_fits, team_key

FACTORS = (
    "availability",
    "place",
    "experience",
    "topics",
    "language",
    "role_preference",
    "stage_readiness",
    "fairness",
)
# Elements per chunk (requests x volunteers): a few tens of MB of temporaries.
CHUNK_ELEMENTS = 1_500_000
# Below this many volunteer columns a block sums its tag factors for all rows at once.
WIDE_BLOCK = 512
# Blocks scored at once, one per core (the machines this runs on have two to four).
WORKERS = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))
_GRID_LOCK = threading.Lock()
T = TypeVar("T")
R = TypeVar("R")


def in_threads(fn: Callable[[T], R], items: Sequence[T], workers: int | None = None) -> Iterator[R]:
    """``fn`` over ``items`` on a few threads, yielded in the items' order.

    numpy lets go of the interpreter lock inside its loops, so two blocks are
    scored at once on two cores. Only a few results are ahead of the one being
    consumed, which bounds the memory, and the order (so every result) is the
    same as one thread's.
    """
    workers = WORKERS if workers is None else workers
    if workers <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: deque[Future[R]] = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def in_sorted(values: np.ndarray, sorted_array: np.ndarray) -> np.ndarray:
    """Membership by binary search: ``np.isin`` hashes the big array again on every call."""
    if not len(sorted_array):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_array, values), len(sorted_array) - 1)
    return sorted_array[at] == values


def _shared(wanted: np.ndarray, offered: np.ndarray) -> np.ndarray:
    # Counts of shared codes: exact small integers even in float32.
    return np.einsum("it,ti->i", wanted, offered).astype(np.float64)


def _share(counts: np.ndarray, n: np.ndarray) -> np.ndarray:
    # Nothing sought: the factor does not tell people apart (0, as in scoring._share).
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, counts / np.where(n > 0, n, 1.0), 0.0)


@dataclass
class Pairing:
    """Requests and volunteers encoded together, ready to score."""

    requests: RequestArrays
    volunteers: VolunteerArrays
    weights: dict[str, float]
    fits: np.ndarray  # float32 (slots, V)
    blocked: np.ndarray  # sorted int64 codes request_index * V + volunteer_index (rules 7, 9)
    vocab: Vocabularies  # kept so one more offer or request encodes the same way
    config: MatchingConfig = field(default_factory=MatchingConfig)  # the policy these were encoded under
    _grid: Grid | None = None

    @classmethod
    def build(
        cls, requests: RequestArrays, volunteers: VolunteerArrays, vocab: Vocabularies, config: MatchingConfig
    ) -> Pairing:
        return cls(
            vocab=vocab,
            config=config,
            requests=requests,
            volunteers=volunteers,
            weights={name: float(config.weights.get(name, 0.0)) for name in FACTORS},
            fits=slot_fits(requests.slots, volunteers),
            blocked=_blocked(requests, volunteers),
        )

    # -- the exact formulas, for aligned pairs ------------------------------------------------

    def _fractions(self, rows: np.ndarray, vi: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Every factor's fraction in [0, 1], and every hard rule, for pairs (demand row, volunteer)."""
        req, vol = self.requests, self.volunteers
        ri = req.row_request[rows]
        area = req.area[ri]
        home_here = vol.home[vi] == area
        travels_here = vol.travel[area, vi]
        slot_n = req.slot_n[ri]
        covered = np.zeros(len(ri))
        for k in range(req.slot_lists.shape[1]):
            covered += self.fits[req.slot_lists[ri, k], vi]
        with np.errstate(divide="ignore", invalid="ignore"):
            fixed = covered / np.where(slot_n > 0, slot_n, 1.0)
        role = req.row_role_index[rows]
        fractions = {
            "availability": np.where(slot_n > 0, fixed, vol.flexible_fit[vi]),
            "place": np.where(home_here, 1.0, np.where(travels_here, 0.7, 0.4)),
            "experience": _share(_shared(req.experience[ri], vol.experience[:, vi]), req.experience_n[ri]),
            "topics": _share(_shared(req.topics[ri], vol.topics[:, vi]), req.topics_n[ri]),
            "language": _share(_shared(req.languages[ri], vol.languages[:, vi]), req.languages_n[ri]),
            "role_preference": vol.role_preference[role, vi],
            "stage_readiness": np.where(req.needs_qi[ri], np.where(vol.qi_trained[vi], 1.0, 0.5), 1.0),
            "fairness": vol.fairness[vi],
        }
        shared = req.modes[ri] & vol.modes[vi]
        need = req.row_trainings[rows]
        ok = (
            vol.usable[vi]  # rules 1 and 8
            & vol.role_offered[role, vi]  # rule 2
            & (shared != 0)  # rule 3
            & ((slot_n == 0) | (covered > 0))  # rule 5
            & ((vol.trainings[vi] & need) == need)  # rule 6
            & ~in_sorted(ri * len(vol) + vi, self.blocked)  # rules 7 and 9
        )
        if req.in_person_bit:
            ok &= ~((shared == req.in_person_bit) & ~(home_here | travels_here))  # rule 4
        return fractions, ok

    # -- grid: the full rescore ---------------------------------------------------------------

    def row_chunks(self, columns: np.ndarray | slice = slice(None)) -> list[np.ndarray]:
        """Demand rows in consecutive blocks of about ``CHUNK_ELEMENTS`` scores each."""
        n_cols = len(np.arange(len(self.volunteers))[columns])
        per_chunk = max(1, CHUNK_ELEMENTS // max(n_cols, 1))
        n_rows = len(self.requests)
        return [np.arange(lo, min(lo + per_chunk, n_rows)) for lo in range(0, n_rows, per_chunk)]

    def chunks(self, columns: np.ndarray | slice = slice(None)) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (demand rows, scores) blocks in row order; a broken hard rule scores -inf."""
        yield from in_threads(lambda rows: self.block(rows, columns), self.row_chunks(columns))

    @property
    def grid(self) -> Grid:
        if self._grid is None:
            with _GRID_LOCK:  # blocks are scored on several threads: build it once
                if self._grid is None:
                    self._grid = Grid.build(self)
        return self._grid

    def block(self, rows: np.ndarray, columns: np.ndarray | slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """float32 scores of demand rows (sorted) against volunteer columns; -inf where a rule breaks.

        Within a few millionths of ``score_pair`` (float32, summed in another
        order), which is plenty to choose with; the chosen pairs are then
        rescored exactly by ``pair_factors``.
        """
        g = self.grid
        every = isinstance(columns, slice) and columns == slice(None)
        score = g.profile[g.row_profile[rows]]
        score += g.place[g.row_area[rows]]
        if not every:
            score = score[:, columns]
        self._add_tags(score, rows, columns)
        ok = g.eligible[g.row_key[rows]]
        if not every:
            ok = ok[:, columns]
        slot_idx = g.row_slots[rows]
        if slot_idx.shape[1]:
            covered = g.fits[slot_idx[:, 0]]
            for k in range(1, slot_idx.shape[1]):
                covered += g.fits[slot_idx[:, k]]
            if not every:
                covered = covered[:, columns]
            ok &= (covered > 0) | g.row_flexible[rows, None]
            covered *= g.row_slot_weight[rows, None]
            score += covered
        ri = self.requests.row_request[rows]
        if len(self.blocked):
            ok &= ~self._blocked_grid(ri, columns)
        np.logical_not(ok, out=ok)
        np.putmask(score, ok, -np.inf)
        return rows, score

    def _add_tags(self, score: np.ndarray, rows: np.ndarray, columns: np.ndarray | slice) -> None:
        """Add the experience, topics and language factors: each row's sought codes' weights, summed in code order.

        The sum runs in float32 one code after another, so every pair gets the
        same float whatever the block's shape: a BLAS matrix product would
        block and thread the sums differently with the number of rows and
        cores (and spin threads that slow the rest of the block on a busy
        machine). Rows of one request seek the same codes, so each request's
        sum is made once per block.
        """
        g = self.grid
        groups, at = np.unique(g.row_tag_group[rows], return_inverse=True)
        at = at.reshape(-1)
        if score.shape[1] < WIDE_BLOCK:
            # Few columns (one new offer against every request): sum all groups at once, code
            # position by position. Padding adds +0.0, which leaves every sum as it was.
            codes, weights = g.tag_codes[groups], g.tag_weights[groups]
            held = g.volunteer_tags[:, columns]
            acc = np.zeros((len(groups), score.shape[1]), dtype=np.float32)
            for j in range(codes.shape[1]):
                acc += held[codes[:, j]] * weights[:, j, None]
            score += acc[at]
            return
        sums: list[np.ndarray | None] = []
        codes, weights = g.tag_codes[groups].tolist(), g.tag_weights[groups]
        for u, n in enumerate(g.tag_count[groups].tolist()):
            if not n:
                sums.append(None)  # nothing sought: the factor adds nothing
                continue
            acc = g.volunteer_tags[codes[u][0], columns] * weights[u, 0]
            for j in range(1, n):
                acc += g.volunteer_tags[codes[u][j], columns] * weights[u, j]
            sums.append(acc)
        for i, u in enumerate(at.tolist()):
            add = sums[u]
            if add is not None:
                score[i] += add

    def _blocked_grid(self, ri: np.ndarray, columns: np.ndarray | slice) -> np.ndarray:
        """(rows, columns) True where rule 7 or 9 removes the pair; ``ri`` is each row's request."""
        n_vol = len(self.volunteers)
        cols = np.arange(n_vol)[columns]
        out = np.zeros((len(ri), len(cols)), dtype=bool)
        lo, hi = np.searchsorted(self.blocked, [ri.min() * n_vol, (ri.max() + 1) * n_vol])
        request, volunteer = np.divmod(self.blocked[lo:hi], n_vol)
        hit = np.isin(request, ri)
        request, volunteer = request[hit], volunteer[hit]
        if not len(request):
            return out
        # Rows of one request are several (one per role): expand each blocked pair to all of them.
        order = np.argsort(ri, kind="stable")
        first = np.searchsorted(ri[order], request, side="left")
        last = np.searchsorted(ri[order], request, side="right")
        count = last - first
        row_pos = order[np.repeat(first, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))]
        col_of = np.repeat(volunteer, count)
        j = np.searchsorted(cols, col_of)
        inside = j < len(cols)
        inside[inside] = cols[j[inside]] == col_of[inside]
        out[row_pos[inside], j[inside]] = True
        return out

    def pair_factors(self, rows: np.ndarray, cols: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Weighted factors (unrounded, float64) and eligibility for aligned (demand row, volunteer) pairs."""
        fractions, ok = self._fractions(rows, cols)
        return {name: self.weights[name] * fractions[name] for name in FACTORS}, ok


def _blocked(req: RequestArrays, vol: VolunteerArrays) -> np.ndarray:
    """Pairs removed by the volunteer's own exclusions (rule 7) or an existing match (rule 9)."""
    by_team: dict[str, list[int]] = {}
    by_id = {rid: i for i, rid in enumerate(req.ids)}
    for i, r in enumerate(req.requests):
        by_team.setdefault(team_key(r.team_name), []).append(i)
    codes: set[int] = set()
    n = len(vol)
    for j in range(n):
        for key in vol.excluded_team_keys[j]:
            codes.update(i * n + j for i in by_team.get(key, ()))
        for rid in vol.matched_request_ids[j]:
            if rid in by_id:
                codes.add(by_id[rid] * n + j)
    return np.array(sorted(codes), dtype=np.int64)


def exact_scores(pairing: Pairing, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """float64 scores of aligned pairs, summed factor by factor as the scalar scorer does."""
    factors, ok = pairing.pair_factors(rows, cols)
    if not ok.all():
        # The fast grid and the exact formulas disagree on a hard rule: never let that through.
        raise AssertionError("grid scoring let an ineligible pair through")
    total = np.zeros(len(rows))
    for name in FACTORS:
        total += factors[name]
    return total


def rounded(factors: dict[str, np.ndarray], k: int) -> tuple[float, dict[str, float]]:
    """Pair k's factors and score, rounded exactly as ``score_pair`` rounds them."""
    named = {name: round(float(factors[name][k]), 6) for name in FACTORS}
    return round(sum(named.values()), 6), named


def _round6(values: np.ndarray) -> np.ndarray:
    """Python's ``round(x, 6)`` of every value (numpy's rounding can differ in the last place).

    Factors take few distinct values, so each distinct value is rounded once.
    """
    distinct, at = np.unique(values, return_inverse=True)
    return np.array([round(x, 6) for x in distinct.tolist()], dtype=np.float64)[at.reshape(-1)]


def rounded_all(factors: dict[str, np.ndarray]) -> tuple[list[float], list[dict[str, float]]]:
    """``rounded`` for every pair at once: the very same floats, without a Python round per factor and pair."""
    columns = [_round6(factors[name]) for name in FACTORS]
    if not columns or not len(columns[0]):
        return [], []
    # score_pair sums the rounded factors left to right; float64 adds in the same order agree exactly.
    total = columns[0].copy()
    for column in columns[1:]:
        total += column
    named = [dict(zip(FACTORS, values, strict=True)) for values in zip(*(c.tolist() for c in columns), strict=True)]
    return _round6(total).tolist(), named


@dataclass(frozen=True)
class Grid:
    """Precomputed pieces that make a block of scores a few gathers and one matrix product.

    Most of a score depends on the volunteer and only a *profile* of the row:
    fairness, stage readiness, flexible availability and role preference vary
    with (stage needs QI, flexible timing, role); place with the request's area;
    and every hard rule except meeting times and exclusions with (role,
    trainings, area, modes). Those few profiles are scored once per volunteer
    here; a block then gathers them instead of recomputing.
    """

    profile: np.ndarray  # float32 (profiles, V)
    row_profile: np.ndarray
    place: np.ndarray  # float32 (areas + 1, V), weighted
    row_area: np.ndarray
    row_tag_group: np.ndarray  # int: rows seeking the same codes share a group (their request)
    tag_count: np.ndarray  # int per group: how many codes it seeks
    tag_codes: np.ndarray  # int (groups, most codes any group seeks): the codes in code order, padded with 0
    tag_weights: np.ndarray  # float32: weight / codes sought for each, padded with 0
    volunteer_tags: np.ndarray  # float32 (tags, V): 1 where the volunteer holds the code
    eligible: np.ndarray  # bool (keys, V)
    row_key: np.ndarray
    fits: np.ndarray  # float32 (slots + 1, V); the last row is all zero, for padding
    row_slots: np.ndarray  # int (rows, most slots any row lists), padded with -1
    row_slot_weight: np.ndarray  # float32: availability weight / slots listed; 0 if flexible
    row_flexible: np.ndarray  # bool

    @classmethod
    def build(cls, p: Pairing) -> Grid:
        req, vol, w = p.requests, p.volunteers, p.weights
        ri = req.row_request
        n_vol = len(vol)
        flexible = req.slot_n[ri] == 0
        needs_qi = req.needs_qi[ri]
        role = req.row_role_index
        # Profiles of a row: (needs QI, flexible, role) -> its own index.
        profile_key = (needs_qi.astype(np.int64) * 2 + flexible) * (len(vol.role_offered) + 1) + role + 1
        keys, row_profile = np.unique(profile_key, return_inverse=True)
        profile = np.zeros((len(keys), n_vol), dtype=np.float64)
        for k, key in enumerate(keys.tolist()):
            qi_flex, role_k = divmod(key, len(vol.role_offered) + 1)
            qi, flex = divmod(qi_flex, 2)
            stage = np.where(vol.qi_trained, 1.0, 0.5) if qi else np.ones(n_vol)
            profile[k] = (
                w["fairness"] * vol.fairness
                + w["stage_readiness"] * stage
                + w["role_preference"] * vol.role_preference[role_k - 1]
                + (w["availability"] * vol.flexible_fit if flex else 0.0)
            )
        n_areas = len(vol.travel) - 1
        area_rows = np.arange(-1, n_areas)  # -1: an area no volunteer knows
        home_here = vol.home[None, :] == area_rows[:, None]
        travels = vol.travel[area_rows]
        place = w["place"] * np.where(home_here, 1.0, np.where(travels, 0.7, 0.4))
        reach = home_here | travels

        def weighted(counts: np.ndarray, n: np.ndarray, weight: float) -> np.ndarray:
            with np.errstate(divide="ignore", invalid="ignore"):
                return counts * np.where(n > 0, weight / np.where(n > 0, n, 1.0), 0.0)[:, None]

        # Per request (all its rows seek the same codes): the weight of each code sought.
        tags = np.hstack(
            [
                weighted(req.experience, req.experience_n, w["experience"]),
                weighted(req.topics, req.topics_n, w["topics"]),
                weighted(req.languages, req.languages_n, w["language"]),
            ]
        ).astype(np.float32)
        volunteer_tags = np.vstack([vol.experience, vol.topics, vol.languages])
        sought = tags != 0
        tag_count = sought.sum(axis=1)
        width = int(tag_count.max()) if len(tag_count) else 0
        first = np.argsort(~sought, axis=1, kind="stable")[:, :width]  # codes sought, in code order
        padding = np.arange(width)[None, :] >= tag_count[:, None]
        tag_codes = np.where(padding, 0, first)
        tag_weights = np.where(padding, np.float32(0), np.take_along_axis(tags, first, axis=1))

        # Hard rules 1, 2, 3, 4, 6 and 8 depend on the volunteer and (role, trainings, area, modes).
        area_of = req.area[ri]
        modes_of = req.modes[ri].astype(np.int64)
        rule_key = np.stack([role, req.row_trainings.astype(np.int64), area_of, modes_of], axis=1)
        rule_keys, row_key = np.unique(rule_key, axis=0, return_inverse=True)
        eligible = np.zeros((len(rule_keys), n_vol), dtype=bool)
        for k, (role_k, train_k, area_k, modes_k) in enumerate(rule_keys.tolist()):
            shared = vol.modes & np.array(modes_k, dtype=vol.modes.dtype)
            train = np.array(train_k, dtype=vol.trainings.dtype)
            ok = vol.usable & vol.role_offered[role_k] & ((vol.trainings & train) == train) & (shared != 0)
            if req.in_person_bit:
                ok &= ~((shared == req.in_person_bit) & ~reach[area_k + 1])
            eligible[k] = ok

        with np.errstate(divide="ignore"):
            slot_weight = np.where(flexible, 0.0, w["availability"] / np.where(flexible, 1.0, req.slot_n[ri]))
        return cls(
            profile=profile.astype(np.float32),
            row_profile=row_profile.reshape(-1),
            place=place.astype(np.float32),
            row_area=area_of + 1,
            row_tag_group=ri,
            tag_count=tag_count,
            tag_codes=tag_codes,
            tag_weights=tag_weights,
            volunteer_tags=volunteer_tags.astype(np.float32),
            eligible=eligible,
            row_key=row_key.reshape(-1),
            fits=p.fits,
            row_slots=req.slot_lists[ri],
            row_slot_weight=slot_weight.astype(np.float32),
            row_flexible=flexible,
        )
