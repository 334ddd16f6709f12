"""Vectorised scoring: the factors of ``matcher.scoring.score_pair``, for many pairs at once.

Every score is a whole number of millionths (``matcher.scoring.SCALE``): each
weighted factor is rounded to an integer on its own, and the score is their
sum. Integer sums are exact in any order, so a pair scores the very same
number whichever path computes it, however the grid is cut into blocks, on any
number of threads and with any SIMD instruction set or BLAS. Two paths, for two
jobs:

- the *grid* (``Pairing.block``/``chunks``) scores demand rows x volunteers
  from a few precomputed per-volunteer profiles and per-request lookup tables
  (see ``Grid``), in chunks so memory stays bounded whatever the sizes. Its
  values are those integers held in float32 (exact below 2**24; float64 when a
  programme's weights would go past that), with -inf where a hard rule breaks;
- the *exact* path (``pair_factors``) recomputes chosen pairs factor by factor
  with the scalar scorer's arithmetic step for step, so each factor is the
  very same integer as ``score_pair``'s.

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
from matcher.domain import Slot, _minutes
from matcher.engine.encode import DAYS, RequestArrays, Vocabularies, VolunteerArrays, slot_fits, team_key
from matcher.engine.lookups import REQUEST_LOOKUPS, Lookups, counted_lookups
from matcher.scoring import SCALE, weighted_micros

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
# Below this many volunteer columns a block looks up its counted factors for all rows at once.
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
    _slot_overlap: np.ndarray | None = None

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
    def slot_overlap(self) -> np.ndarray:
        """bool (slots + 1, slots + 1): meeting slot i overlaps slot j; the last row and column (padding) never."""
        if self._slot_overlap is None:
            day, start, end = (np.array([s[k] for s in self.requests.slots], dtype=np.int64) for k in range(3))
            n = len(day)
            out = np.zeros((n + 1, n + 1), dtype=bool)
            same_day = day[:, None] == day[None, :]
            out[:n, :n] = same_day & (start[:, None] < end[None, :]) & (start[None, :] < end[:, None])
            self._slot_overlap = out
        return self._slot_overlap

    def requests_clash(self, a: int, b: int) -> bool:
        """Rule 10 between two requests (indices): one of a's meeting slots overlaps one of b's."""
        return bool(self.requests_clash_many(np.array([a]), np.array([b]))[0])

    def requests_clash_many(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``requests_clash`` for aligned arrays of request indices."""
        overlap = self.slot_overlap
        lists = self.requests.slot_lists  # -1 padding picks the never-overlapping last row
        hit = np.zeros(len(a), dtype=bool)
        for i in range(lists.shape[1]):
            for j in range(lists.shape[1]):
                hit |= overlap[lists[a, i], lists[b, j]]
        return hit

    @property
    def grid(self) -> Grid:
        if self._grid is None:
            with _GRID_LOCK:  # blocks are scored on several threads: build it once
                if self._grid is None:
                    self._grid = Grid.build(self)
        return self._grid

    def block(self, rows: np.ndarray, columns: np.ndarray | slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """Scores (in millionths) of demand rows (sorted) against volunteer columns; -inf where a rule breaks.

        Every finite value is the pair's exact score, the same integer as
        ``exact_scores`` and ``score_pair`` give, held in ``Grid.dtype``.
        """
        g = self.grid
        every = isinstance(columns, slice) and columns == slice(None)
        score = g.profile[g.row_profile[rows]]
        score += g.place[g.row_area[rows]]
        if not every:
            score = score[:, columns]
        self._add_counted(score, rows, columns)
        ok = g.eligible[g.row_key[rows]]
        if not every:
            ok = ok[:, columns]
        ri = self.requests.row_request[rows]
        if len(self.blocked):
            ok &= ~self._blocked_grid(ri, columns)
        np.logical_not(ok, out=ok)
        np.putmask(score, ok, -np.inf)
        return rows, score

    def _add_counted(self, score: np.ndarray, rows: np.ndarray, columns: np.ndarray | slice) -> None:
        """Add the factors that count things: codes shared (experience, topics, language) and slots fitted.

        Each request's counts are digits of one small integer per volunteer
        (``Lookups``), summed from 0/1 rows in int16, and a table indexed by it
        holds the sum of those factors' rounded contributions; a fixed-time
        request's table holds -inf where no slot fits (rule 5). Rows of one
        request share the lookup, so it is made once per block.
        """
        g = self.grid
        lk = g.lookups
        groups, at = np.unique(g.row_tag_group[rows], return_inverse=True)
        at = at.reshape(-1)
        if not lk.codes.shape[1]:
            return  # nothing counted anywhere
        if score.shape[1] < WIDE_BLOCK:
            # Few columns (one new offer against every request): every request at once,
            # code position by position. Padding points at the all-zero row with multiplier 0.
            held = g.held[:, columns]
            add = np.zeros((len(groups), score.shape[1]), dtype=score.dtype)
            for k in range(lk.codes.shape[1]):
                codes, mults = lk.codes[groups, k], lk.mults[groups, k]
                index = np.zeros((len(groups), score.shape[1]), dtype=np.int16)
                for j in range(codes.shape[1]):
                    index += held[codes[:, j]] * mults[:, j, None]
                add += np.take_along_axis(lk.tables[groups, k], index.astype(np.intp), axis=1)
            score += add[at]
            return
        sums: list[np.ndarray | None] = []
        for u in groups.tolist():
            acc: np.ndarray | None = None
            for k in range(int(lk.count[u])):
                n = int(lk.width[u, k])
                codes, mults = lk.codes[u, k, :n].tolist(), lk.mults[u, k, :n].tolist()
                index = g.held[codes[0], columns] * np.int16(mults[0])
                for code, mult in zip(codes[1:], mults[1:], strict=True):
                    index += g.held[code, columns] * np.int16(mult)
                part = lk.tables[u, k].take(index)
                acc = part if acc is None else acc + part
            sums.append(acc)
        for i, u in enumerate(at.tolist()):
            counted = sums[u]
            if counted is not None:
                score[i] += counted

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
        """Weighted factors in millionths (int64) and eligibility for aligned (demand row, volunteer) pairs."""
        fractions, ok = self._fractions(rows, cols)
        return {name: weighted_micros(self.weights[name], fractions[name]) for name in FACTORS}, ok


def _blocked(req: RequestArrays, vol: VolunteerArrays) -> np.ndarray:
    """Pairs removed by the volunteer's own exclusions (rule 7), an existing match (rule 9)
    or a commitment whose meetings overlap the request's (rule 10)."""
    by_team: dict[str, list[int]] = {}
    by_id = {rid: i for i, rid in enumerate(req.ids)}
    for i, r in enumerate(req.requests):
        by_team.setdefault(team_key(r.team_name), []).append(i)
    codes: set[int] = set()
    n = len(vol)
    holders: dict[Slot, list[int]] = {}
    for j in range(n):
        for key in vol.excluded_team_keys[j]:
            codes.update(i * n + j for i in by_team.get(key, ()))
        for rid in vol.matched_request_ids[j]:
            if rid in by_id:
                codes.add(by_id[rid] * n + j)
        for slot in vol.standings[j].committed_slots:
            holders.setdefault(slot, []).append(j)
    # Rule 10 by meeting slot: many people hold the same one, and one slot can clash with
    # hundreds of requests, so the pairs are made as arrays, not one by one.
    clashing = _clashing_requests(req)
    parts = [np.array(sorted(codes), dtype=np.int64)]
    for slot, people in holders.items():
        requests = np.array(clashing(slot), dtype=np.int64)
        if len(requests):
            parts.append((requests[:, None] * n + np.array(people, dtype=np.int64)[None, :]).reshape(-1))
    # Sorted, then duplicates dropped: numpy's hashing unique takes seconds on millions of codes.
    every = np.sort(np.concatenate(parts))
    return every[np.r_[True, every[1:] != every[:-1]]] if len(every) else every


def _clashing_requests(req: RequestArrays) -> Callable[[Slot], list[int]]:
    """Requests listing a meeting slot that overlaps a given one, remembered per slot (many people share one)."""
    day = np.array([d for d, _, _ in req.slots], dtype=np.int64)
    start = np.array([a for _, a, _ in req.slots], dtype=np.int64)
    end = np.array([b for _, _, b in req.slots], dtype=np.int64)
    listed = req.slot_counts[:, : len(req.slots)] > 0
    known: dict[Slot, list[int]] = {}

    def clashing(slot: Slot) -> list[int]:
        if slot not in known:
            if slot.day not in DAYS or not len(day):
                known[slot] = []
            else:
                a, b = _minutes(slot.start), _minutes(slot.end)
                hit = (day == DAYS.index(slot.day)) & (start < b) & (a < end)
                known[slot] = np.flatnonzero(listed[:, hit].any(axis=1)).tolist()
        return known[slot]

    return clashing


def exact_scores(pairing: Pairing, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """int64 scores in millionths of aligned pairs: the sum of their factors, as the scalar scorer sums them."""
    factors, ok = pairing.pair_factors(rows, cols)
    if not ok.all():
        # The fast grid and the exact formulas disagree on a hard rule: never let that through.
        raise AssertionError("grid scoring let an ineligible pair through")
    total = np.zeros(len(rows), dtype=np.int64)
    for name in FACTORS:
        total += factors[name]
    return total


def rounded(factors: dict[str, np.ndarray], k: int) -> tuple[float, dict[str, float]]:
    """Pair k's score and factors as ``score_pair`` shows them: millionths / SCALE."""
    micros = {name: int(factors[name][k]) for name in FACTORS}
    return sum(micros.values()) / SCALE, {name: m / SCALE for name, m in micros.items()}


def rounded_all(factors: dict[str, np.ndarray]) -> tuple[list[float], list[dict[str, float]]]:
    """``rounded`` for every pair at once: the very same floats, without a Python call per factor and pair."""
    if not FACTORS or not len(factors[FACTORS[0]]):
        return [], []
    total = np.zeros(len(factors[FACTORS[0]]), dtype=np.int64)
    for name in FACTORS:
        total += factors[name]
    # Dividing an integer by SCALE gives the same float in numpy as in Python (one correctly rounded division).
    columns = [(factors[name] / SCALE).tolist() for name in FACTORS]
    named = [dict(zip(FACTORS, values, strict=True)) for values in zip(*columns, strict=True)]
    return (total / SCALE).tolist(), named


@dataclass(frozen=True)
class Grid:
    """Precomputed pieces that make a block of scores a few gathers and table lookups.

    Most of a score depends on the volunteer and only a *profile* of the row:
    fairness, stage readiness, flexible availability and role preference vary
    with (stage needs QI, flexible timing, role); place with the request's area;
    and every hard rule except meeting times and exclusions with (role,
    trainings, area, modes). Those few profiles are scored once per volunteer
    here; a block then gathers them instead of recomputing. Every value is a
    sum of whole millionths, exact in ``dtype``.
    """

    dtype: type
    profile: np.ndarray  # (profiles, V)
    row_profile: np.ndarray
    place: np.ndarray  # (areas + 1, V)
    row_area: np.ndarray
    row_tag_group: np.ndarray  # int: rows that count the same things share a group (their request)
    held: np.ndarray  # int16 (tags + slots + 1, V): 1 where the volunteer holds the code / fits the slot
    lookups: Lookups
    eligible: np.ndarray  # bool (keys, V)
    row_key: np.ndarray

    @classmethod
    def build(cls, p: Pairing) -> Grid:
        req, vol, w = p.requests, p.volunteers, p.weights
        ri = req.row_request
        n_vol = len(vol)
        dtype = grid_dtype(w)
        flexible = req.slot_n[ri] == 0
        needs_qi = req.needs_qi[ri]
        role = req.row_role_index
        # Profiles of a row: (needs QI, flexible, role) -> its own index.
        profile_key = (needs_qi.astype(np.int64) * 2 + flexible) * (len(vol.role_offered) + 1) + role + 1
        keys, row_profile = np.unique(profile_key, return_inverse=True)
        profile = np.zeros((len(keys), n_vol), dtype=np.int64)
        for k, key in enumerate(keys.tolist()):
            qi_flex, role_k = divmod(key, len(vol.role_offered) + 1)
            qi, flex = divmod(qi_flex, 2)
            stage = np.where(vol.qi_trained, 1.0, 0.5) if qi else np.ones(n_vol)
            profile[k] = (
                weighted_micros(w["fairness"], vol.fairness)
                + weighted_micros(w["stage_readiness"], stage)
                + weighted_micros(w["role_preference"], vol.role_preference[role_k - 1])
            )
            if flex:
                profile[k] += weighted_micros(w["availability"], vol.flexible_fit)
        n_areas = len(vol.travel) - 1
        area_rows = np.arange(-1, n_areas)  # -1: an area no volunteer knows
        home_here = vol.home[None, :] == area_rows[:, None]
        travels = vol.travel[area_rows]
        place = weighted_micros(w["place"], np.where(home_here, 1.0, np.where(travels, 0.7, 0.4)))
        reach = home_here | travels

        # Rows of `held`: experience, topics and language codes, then meeting slots, then zeros.
        tag_blocks = [(vol.experience, req.experience, req.experience_n, w["experience"])]
        tag_blocks.append((vol.topics, req.topics, req.topics_n, w["topics"]))
        tag_blocks.append((vol.languages, req.languages, req.languages_n, w["language"]))
        offsets = np.cumsum([0] + [len(b[0]) for b in tag_blocks])
        slot_offset = int(offsets[-1])
        held = np.vstack([b[0] for b in tag_blocks] + [p.fits]).astype(np.int16)  # fits' last row is zero
        zero_row = len(held) - 1
        key = (tuple(sorted(w.items())), tuple(offsets.tolist()), slot_offset, zero_row, np.dtype(dtype).str)
        lookups = REQUEST_LOOKUPS.get(
            req, key, lambda: counted_lookups(req, w, tag_blocks, offsets, slot_offset, zero_row, dtype)
        )

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

        return cls(
            dtype=dtype,
            profile=profile.astype(dtype),
            row_profile=row_profile.reshape(-1),
            place=place.astype(dtype),
            row_area=area_of + 1,
            row_tag_group=ri,
            held=held,
            lookups=lookups,
            eligible=eligible,
            row_key=row_key.reshape(-1),
        )


def grid_dtype(weights: dict[str, float]) -> type:
    """float32 holds every integer below 2**24 exactly, so every partial sum of a score under the
    default weights (at most about 10**6 millionths); a programme whose weights add up past that
    gets float64 (exact to 2**53) rather than rounded sums."""
    most = sum(abs(weighted_micros(weight, 1.0)) for weight in weights.values())
    return np.float32 if most < 2**24 else np.float64
