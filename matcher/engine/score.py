"""Vectorised scoring: the same factors as ``matcher.scoring.score_pair``, for many pairs at once.

Two layouts share one set of formulas so they cannot drift apart:

- a *grid* (a block of requests x a block of volunteers) for the full rescore,
  computed in chunks of requests so memory stays bounded whatever the sizes;
- *pairs* (matching index arrays) for explaining chosen pairs and for tests.

The arithmetic is the scalar scorer's, step for step (integer counts divided
by integer lengths, the same constants), so each weighted factor is the very
same float64 and rounds to the same six decimals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from matcher.config import MatchingConfig
from matcher.engine.encode import RequestArrays, VolunteerArrays, slot_fits, team_key

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


class _Layout:
    """Broadcasting for a grid (rows x columns) or for aligned pairs."""

    def __init__(self, grid: bool) -> None:
        self.grid = grid

    def r(self, a: np.ndarray) -> np.ndarray:
        return a[:, None] if self.grid else a

    def v(self, a: np.ndarray) -> np.ndarray:
        return a[None, :] if self.grid else a

    def lookup(self, m: np.ndarray, ri: np.ndarray, vi: np.ndarray | slice) -> np.ndarray:
        return m[ri][:, vi] if self.grid else m[ri, vi]

    def dot(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # Counts of shared codes: exact small integers even in float32.
        return (a @ b if self.grid else np.einsum("it,ti->i", a, b)).astype(np.float64)


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

    @classmethod
    def build(cls, requests: RequestArrays, volunteers: VolunteerArrays, config: MatchingConfig) -> Pairing:
        return cls(
            requests=requests,
            volunteers=volunteers,
            weights={name: float(config.weights.get(name, 0.0)) for name in FACTORS},
            fits=slot_fits(requests.slots, volunteers),
            blocked=_blocked(requests, volunteers),
        )

    # -- the formulas -------------------------------------------------------------------------

    def _request_level(
        self, ri: np.ndarray, vi: np.ndarray | slice, lay: _Layout
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Fractions of every factor except role preference, and rules 1, 3, 4, 5, 8."""
        req, vol = self.requests, self.volunteers
        area = req.area[ri]
        home_here = lay.v(vol.home[vi]) == lay.r(area)
        travels_here = lay.lookup(vol.travel, area, vi)
        slot_n = lay.r(req.slot_n[ri])
        covered = lay.dot(req.slot_counts[ri], self.fits[:, vi])
        shape = home_here.shape
        with np.errstate(divide="ignore", invalid="ignore"):
            fixed = covered / np.where(slot_n > 0, slot_n, 1.0)
        fractions = {
            "availability": np.where(slot_n > 0, fixed, lay.v(vol.flexible_fit[vi])),
            "place": np.where(home_here, 1.0, np.where(travels_here, 0.7, 0.4)),
            "experience": _share(lay.dot(req.experience[ri], vol.experience[:, vi]), lay.r(req.experience_n[ri])),
            "topics": _share(lay.dot(req.topics[ri], vol.topics[:, vi]), lay.r(req.topics_n[ri])),
            "language": _share(lay.dot(req.languages[ri], vol.languages[:, vi]), lay.r(req.languages_n[ri])),
            "stage_readiness": np.where(lay.r(req.needs_qi[ri]), np.where(lay.v(vol.qi_trained[vi]), 1.0, 0.5), 1.0),
            "fairness": np.broadcast_to(lay.v(vol.fairness[vi]), shape),
        }
        shared = lay.r(req.modes[ri]) & lay.v(vol.modes[vi])
        ok = lay.v(vol.usable[vi]) & (shared != 0) & ((slot_n == 0) | (covered > 0))
        if req.in_person_bit:
            ok &= ~((shared == req.in_person_bit) & ~(home_here | travels_here))
        return fractions, ok

    def _row_level(self, rows: np.ndarray, vi: np.ndarray | slice, lay: _Layout) -> tuple[np.ndarray, np.ndarray]:
        """Role preference fraction, and rules 2 and 6 for demand rows."""
        req, vol = self.requests, self.volunteers
        role = req.row_role_index[rows]
        preference = lay.lookup(vol.role_preference, role, vi)
        need = lay.r(req.row_trainings[rows])
        ok = lay.lookup(vol.role_offered, role, vi) & ((lay.v(vol.trainings[vi]) & need) == need)
        return preference, ok

    # -- grid: the full rescore ---------------------------------------------------------------

    def chunks(self, columns: np.ndarray | slice = slice(None)) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (demand rows, scores) blocks; a broken hard rule scores -inf."""
        req = self.requests
        n_cols = len(np.arange(len(self.volunteers))[columns])
        per_chunk = max(1, CHUNK_ELEMENTS // max(n_cols, 1))
        starts = np.searchsorted(req.row_request, np.arange(0, len(req.ids) + per_chunk, per_chunk))
        for lo, hi in zip(starts[:-1], starts[1:], strict=False):
            if hi > lo:
                yield self.block(np.arange(lo, hi), columns)

    def block(self, rows: np.ndarray, columns: np.ndarray | slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """Scores of demand rows (which must be sorted) against volunteer columns."""
        lay = _Layout(grid=True)
        w = self.weights
        ri, local = np.unique(self.requests.row_request[rows], return_inverse=True)
        fractions, ok = self._request_level(ri, columns, lay)
        base = np.zeros(ok.shape, dtype=np.float64)
        for name, frac in fractions.items():
            if w[name]:
                base += w[name] * frac
        ok = ok & ~self._blocked_grid(ri, columns)
        preference, row_ok = self._row_level(rows, columns, lay)
        score = base[local] + w["role_preference"] * preference
        return rows, np.where(ok[local] & row_ok, score, -np.inf)

    def _blocked_grid(self, ri: np.ndarray, columns: np.ndarray | slice) -> np.ndarray:
        n_vol = len(self.volunteers)
        cols = np.arange(n_vol)[columns]
        out = np.zeros((len(ri), len(cols)), dtype=bool)
        if not len(self.blocked):
            return out
        lo, hi = np.searchsorted(self.blocked, [ri[0] * n_vol, (ri[-1] + 1) * n_vol])
        for code in self.blocked[lo:hi]:
            r, v = divmod(int(code), n_vol)
            i = np.searchsorted(ri, r)
            j = np.searchsorted(cols, v) if isinstance(columns, np.ndarray) else v - (cols[0] if len(cols) else 0)
            if i < len(ri) and ri[i] == r and 0 <= j < len(cols) and cols[j] == v:
                out[i, j] = True
        return out

    # -- pairs: explanations ------------------------------------------------------------------

    def pair_factors(self, rows: np.ndarray, cols: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Weighted factors (unrounded) and eligibility for aligned (demand row, volunteer) pairs."""
        lay = _Layout(grid=False)
        ri = self.requests.row_request[rows]
        fractions, ok = self._request_level(ri, cols, lay)
        preference, row_ok = self._row_level(rows, cols, lay)
        fractions["role_preference"] = preference
        codes = ri * len(self.volunteers) + cols
        ok = ok & row_ok & ~np.isin(codes, self.blocked)
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


def rounded(factors: dict[str, np.ndarray], k: int) -> tuple[float, dict[str, float]]:
    """Pair k's factors and score, rounded exactly as ``score_pair`` rounds them."""
    named = {name: round(float(factors[name][k]), 6) for name in FACTORS}
    return round(sum(named.values()), 6), named
