"""The active volunteers, encoded once and kept: a worker scores each event against them.

Encoding every volunteer for every event (loading their offers through the ORM
and building the arrays again) costs time in proportion to the population.
A ``Population`` keeps the encoded columns instead, and is told about the few
volunteers that changed: ``apply`` upserts and removes columns in place,
growing the vocabularies when a newcomer brings a code nobody had. ``pairing``
then builds the engine's ``Pairing`` for any set of requests without encoding
a single volunteer.

Only arrays and ids are kept (no ``Volunteer`` objects), so tens of thousands of
volunteers take a few tens of MB. What depends on the moment is worked out
per event from kept numbers: days waited (fairness) from ``waiting_since``, and
the capacity left after what other requests' proposals hold (``reserved``).

Columns stay sorted by volunteer id, as ``encode_volunteers`` sorts them: equal
scores go to the lowest column, so the order must be the same as a fresh
encode's for the suggestions to be the same (``docs/matching.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import cast

import numpy as np

from matcher.config import MatchingConfig
from matcher.domain import TeamRequest, Volunteer
from matcher.engine.encode import (
    RequestArrays,
    Vocabularies,
    VolunteerArrays,
    encode_requests,
    encode_volunteers,
    slot_fits,
)
from matcher.engine.grid import FACTORS, Pairing, _blocked
from matcher.proposals import Candidate
from matcher.rules import Standing
from matcher.scoring import fairness_fraction

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROS_PER_DAY = 86_400 * 1_000_000
# Most volunteers hold nothing and exclude no team: they share these, so 50,000 of them
# do not make 50,000 small objects.
NOTHING_HELD = Standing()
NO_CODES: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Member:
    """One active volunteer as the population takes them in.

    ``standing`` is read for what does not change by itself (commitments held,
    involvements, matched requests, committed meeting slots; its ``waiting_days``
    is ignored); ``waiting_since`` is when their wait began (registering, or their
    last involvement ending), or None while they hold a commitment.
    """

    volunteer: Volunteer
    standing: Standing
    waiting_since: datetime | None


def micros(at: datetime) -> int:
    """Whole microseconds since 1970 (UTC): exact, so whole days come out as ``timedelta.days`` does."""
    return (at - EPOCH) // timedelta(microseconds=1)


# Per-volunteer arrays kept: 1-D (one value per column) and 2-D (one column each).
_FLAT = ("home", "modes", "trainings", "qi_trained", "flexible_fit")
_ROWS = ("travel", "role_offered", "role_preference", "experience", "topics", "languages")
_OWN = ("consented", "max_commitments", "active", "past", "since", "waits", "concerned")
_WINDOWS = ("window_owner", "window_day", "window_start", "window_end")


class Population:
    """Encoded columns of the active volunteers, sorted by id, updated in place."""

    def __init__(self, config: MatchingConfig) -> None:
        self.config = config
        self.vocab = Vocabularies.build([], [], config)
        empty = encode_volunteers([], self.vocab, config)
        self.ids: list[str] = []
        self._ids = np.array([], dtype="<U1")  # the same ids, for binary search
        self.arrays: dict[str, np.ndarray] = {name: getattr(empty, name) for name in _FLAT + _ROWS + _WINDOWS}
        self.arrays.update(
            consented=np.zeros(0, dtype=bool),
            max_commitments=np.zeros(0, dtype=np.int64),
            active=np.zeros(0, dtype=np.int64),
            past=np.zeros(0, dtype=np.int64),
            since=np.zeros(0, dtype=np.int64),
            waits=np.zeros(0, dtype=bool),
            concerned=np.zeros(0, dtype=bool),
        )
        self.excluded_team_keys: list[frozenset[str]] = []
        self.matched_request_ids: list[frozenset[str]] = []
        self.standings: list[Standing] = []  # only rules 9 and 10 read these (see _blocked)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, volunteer_id: object) -> bool:
        return isinstance(volunteer_id, str) and self.position(volunteer_id) is not None

    def position(self, volunteer_id: str) -> int | None:
        at = int(np.searchsorted(self._ids, volunteer_id))
        return at if at < len(self.ids) and self.ids[at] == volunteer_id else None

    # -- changes ---------------------------------------------------------------------------

    def apply(self, upserts: Sequence[Member] = (), removals: Iterable[str] = ()) -> None:
        """Take in new or changed volunteers and drop those no longer active.

        A volunteer both upserted and removed is upserted. Removing one not kept is
        a no-op, so the caller may pass every changed volunteer that is not active.
        """
        latest = {m.volunteer.id: m for m in upserts}
        members = [latest[vid] for vid in sorted(latest)]
        if members:
            self._grow_vocabularies([m.volunteer for m in members])
        batch = self._encode(members)
        fresh = {**{name: getattr(batch, name) for name in _FLAT + _ROWS}, **self._own(members)}
        at = [self.position(m.volunteer.id) for m in members]
        present = [(b, j) for b, j in enumerate(at) if j is not None]
        if present:
            self._overwrite(batch, fresh, present)
        new = [b for b, j in enumerate(at) if j is None]
        gone = sorted({j for j in (self.position(vid) for vid in removals if vid not in latest) if j is not None})
        if new or gone:
            self._reshape(batch, fresh, new, gone)

    def _grow_vocabularies(self, volunteers: Sequence[Volunteer]) -> None:
        """Give codes nobody kept had an index, and the arrays room for them (no one re-encoded)."""
        theirs = Vocabularies.build(volunteers, [], self.config)
        old = self.vocab
        grown = Vocabularies(
            **{f.name: getattr(old, f.name).extended(getattr(theirs, f.name).index) for f in fields(Vocabularies)}
        )
        if all(len(getattr(grown, f.name)) == len(getattr(old, f.name)) for f in fields(Vocabularies)):
            return
        a, n = self.arrays, len(self.ids)

        def room(rows: np.ndarray, before: int, after: int, extra_row: bool) -> np.ndarray:
            # Rows for the known codes stay where they are. Where there is an extra last row
            # (for a code nobody offers, index -1) it stays last and empty; tag matrices
            # have at least one row, all zero while their vocabulary is empty.
            out = np.zeros((after + 1 if extra_row else max(after, 1), n), dtype=rows.dtype)
            out[:before] = rows[:before]
            return out

        a["travel"] = room(a["travel"], len(old.areas), len(grown.areas), True)
        a["role_offered"] = room(a["role_offered"], len(old.roles), len(grown.roles), True)
        a["role_preference"] = room(a["role_preference"], len(old.roles), len(grown.roles), True)
        a["experience"] = room(a["experience"], len(old.experience), len(grown.experience), False)
        a["topics"] = room(a["topics"], len(old.topics), len(grown.topics), False)
        a["languages"] = room(a["languages"], len(old.languages), len(grown.languages), False)
        # Bitmasks keep their bits; a longer vocabulary may need a wider integer. The
        # "training nobody has" bit moves up, and nobody kept has it set.
        a["modes"] = a["modes"].astype(grown.mode_dtype)
        a["trainings"] = a["trainings"].astype(grown.training_dtype)
        self.vocab = grown

    def _encode(self, members: Sequence[Member]) -> VolunteerArrays:
        # The very encoder a full rescore uses, on the few that changed.
        return encode_volunteers([Candidate(m.volunteer, m.standing) for m in members], self.vocab, self.config)

    def _own(self, members: Sequence[Member]) -> dict[str, np.ndarray]:
        """What the kept arrays hold beyond the encoder's: the parts of usable, capacity and fairness."""
        return {
            "consented": np.array([m.volunteer.has_consent for m in members], dtype=bool),
            "max_commitments": np.array([m.volunteer.max_commitments for m in members], dtype=np.int64),
            "active": np.array([m.standing.active_commitments for m in members], dtype=np.int64),
            "past": np.array([m.standing.involvements for m in members], dtype=np.int64),
            "since": np.array([micros(m.waiting_since) if m.waiting_since else 0 for m in members], dtype=np.int64),
            "waits": np.array([m.waiting_since is not None for m in members], dtype=bool),
            # Someone rules 7, 9 or 10 can concern: an excluded team, a decided match, a commitment.
            "concerned": np.array(
                [
                    bool(m.volunteer.excluded_teams or m.standing.matched_request_ids or m.standing.committed_slots)
                    for m in members
                ],
                dtype=bool,
            ),
        }

    def _overwrite(self, batch: VolunteerArrays, fresh: dict[str, np.ndarray], present: list[tuple[int, int]]) -> None:
        """Volunteers already kept: their columns rewritten where they are."""
        b = np.array([p[0] for p in present], dtype=np.int64)
        j = np.array([p[1] for p in present], dtype=np.int64)
        for name, values in fresh.items():
            if values.ndim == 1:
                self.arrays[name][j] = values[b]
            else:
                self.arrays[name][:, j] = values[:, b]
        for bk, jk in present:
            self._set_lists(jk, batch, bk)
        # Their availability windows: the old ones out, the new ones in.
        a = self.arrays
        keep = ~np.isin(a["window_owner"], j)
        owner_of = np.full(len(batch), -1, dtype=np.int64)
        owner_of[b] = j
        theirs = np.isin(batch.window_owner, b)
        for name in _WINDOWS:
            mine = getattr(batch, name)[theirs]
            if name == "window_owner":
                mine = owner_of[mine]
            a[name] = np.concatenate([a[name][keep], mine])

    def _reshape(self, batch: VolunteerArrays, fresh: dict[str, np.ndarray], new: list[int], gone: list[int]) -> None:
        """Columns added (in id order) and removed: every array laid out again once."""
        old_n = len(self.ids)
        kept = np.setdiff1d(np.arange(old_n), np.array(gone, dtype=np.int64), assume_unique=True)
        new_b = np.array(new, dtype=np.int64)
        new_ids = np.array([batch.ids[b] for b in new], dtype=str)
        kept_ids = self._ids[kept]
        # Both are sorted and disjoint: each one's place is its rank plus the other side's before it.
        kept_to = np.arange(len(kept)) + np.searchsorted(new_ids, kept_ids)
        new_to = np.arange(len(new)) + np.searchsorted(kept_ids, new_ids)
        n = len(kept) + len(new)
        for name, values in fresh.items():
            old = self.arrays[name]
            if old.ndim == 1:
                out = np.zeros(n, dtype=old.dtype)
                out[kept_to] = old[kept]
                out[new_to] = values[new_b]
            else:
                out = np.zeros((old.shape[0], n), dtype=old.dtype)
                out[:, kept_to] = old[:, kept]
                out[:, new_to] = values[:, new_b]
            self.arrays[name] = out
        # Windows: the kept ones follow their owner to its new column, the new ones join.
        a = self.arrays
        moved = np.full(old_n, -1, dtype=np.int64)
        moved[kept] = kept_to
        old_owner = moved[a["window_owner"]] if len(a["window_owner"]) else a["window_owner"]
        stay = old_owner >= 0
        placed = np.full(len(batch), -1, dtype=np.int64)
        placed[new_b] = new_to
        theirs = placed[batch.window_owner] >= 0 if len(batch.window_owner) else np.zeros(0, dtype=bool)
        for name in _WINDOWS:
            old_part = old_owner[stay] if name == "window_owner" else a[name][stay]
            mine = getattr(batch, name)[theirs]
            a[name] = np.concatenate([old_part, placed[mine] if name == "window_owner" else mine])
        # The lists, in the same new order.
        excluded: list[frozenset[str]] = [NO_CODES] * n
        matched: list[frozenset[str]] = [NO_CODES] * n
        standings: list[Standing] = [NOTHING_HELD] * n
        ids: list[str] = [""] * n
        for src, dst in zip(kept.tolist(), kept_to.tolist(), strict=True):
            ids[dst] = self.ids[src]
            excluded[dst] = self.excluded_team_keys[src]
            matched[dst] = self.matched_request_ids[src]
            standings[dst] = self.standings[src]
        self.ids, self.excluded_team_keys, self.matched_request_ids, self.standings = ids, excluded, matched, standings
        for b, dst in zip(new, new_to.tolist(), strict=True):
            self.ids[dst] = batch.ids[b]
            self._set_lists(dst, batch, b)
        self._ids = np.array(self.ids, dtype=str) if self.ids else np.array([], dtype="<U1")

    def _set_lists(self, j: int, batch: VolunteerArrays, b: int) -> None:
        s = batch.standings[b]
        self.excluded_team_keys[j] = batch.excluded_team_keys[b] or NO_CODES
        self.matched_request_ids[j] = s.matched_request_ids or NO_CODES
        # Only what rules 9 and 10 read is kept; most people hold nothing and share one.
        held = s.matched_request_ids or s.committed_slots
        self.standings[j] = (
            Standing(matched_request_ids=s.matched_request_ids, committed_slots=s.committed_slots)
            if held
            else NOTHING_HELD
        )

    # -- per event ---------------------------------------------------------------------------

    def volunteer_arrays(self, now: datetime | None, reserved: Mapping[str, int] | None = None) -> VolunteerArrays:
        """The kept columns as the engine's ``VolunteerArrays`` at ``now`` (None: nobody has
        waited, as ``standings`` without a moment has it; hard rules do not depend on it).

        ``reserved``: per volunteer id, places their proposals on other requests hold.
        The arrays are the kept ones, not copies: use them for this event only.
        """
        a = self.arrays
        held = np.zeros(len(self.ids), dtype=np.int64)
        if reserved:
            for vid, count in reserved.items():
                j = self.position(vid)
                if j is not None:
                    held[j] += count
        # Days waited, as Standing.waiting_days counts them (whole days, never negative).
        if now is None:
            waited = np.zeros(len(self.ids), dtype=np.int64)
        else:
            waited = np.where(a["waits"], np.maximum((micros(now) - a["since"]) // MICROS_PER_DAY, 0), 0)
        previous = a["past"] + a["active"]
        return VolunteerArrays(
            ids=self.ids,
            volunteers=[],  # not kept: a proposal's volunteer is read from the database
            standings=self.standings,
            usable=a["consented"] & (a["active"] < a["max_commitments"]),
            capacity=np.maximum(a["max_commitments"] - a["active"] - held, 0),
            home=a["home"],
            travel=a["travel"],
            modes=a["modes"],
            trainings=a["trainings"],
            qi_trained=a["qi_trained"],
            role_offered=a["role_offered"],
            role_preference=a["role_preference"],
            experience=a["experience"],
            topics=a["topics"],
            languages=a["languages"],
            flexible_fit=a["flexible_fit"],
            fairness=fairness_fraction(previous, waited, self.config),
            previous=previous,
            waiting_days=waited.astype(np.int64),
            window_owner=a["window_owner"],
            window_day=a["window_day"],
            window_start=a["window_start"],
            window_end=a["window_end"],
            excluded_team_keys=self.excluded_team_keys,
            matched_request_ids=self.matched_request_ids,
        )

    def pairing(
        self,
        requests: Sequence[TeamRequest],
        open_counts_by_request: dict[str, dict[str, int]],
        now: datetime | None,
        reserved: Mapping[str, int] | None = None,
        volunteer_ids: Sequence[str] | None = None,
    ) -> Pairing:
        """Requests encoded against the kept volunteers (or only ``volunteer_ids`` among them)."""
        volunteers = self.volunteer_arrays(now, reserved)
        concerned = self.arrays["concerned"]
        if volunteer_ids is not None:
            volunteers, pick = self.columns(volunteers, volunteer_ids)
            concerned = concerned[pick]
        req = encode_requests(requests, open_counts_by_request, self.vocab, self.config)
        # Pairing.build, but rules 7, 9 and 10 looked at only for the few volunteers they concern.
        return Pairing(
            vocab=self.vocab,
            config=self.config,
            requests=req,
            volunteers=volunteers,
            weights={name: float(self.config.weights.get(name, 0.0)) for name in FACTORS},
            fits=slot_fits(req.slots, volunteers),
            blocked=_blocked_few(req, volunteers, np.flatnonzero(concerned)),
        )

    def columns(self, volunteers: VolunteerArrays, volunteer_ids: Sequence[str]) -> tuple[VolunteerArrays, np.ndarray]:
        """Some of the kept columns (those of ``volunteer_ids`` that are kept), in id order, and
        which columns they were."""
        at = sorted(j for j in (self.position(v) for v in set(volunteer_ids)) if j is not None)
        pick = np.array(at, dtype=np.int64)
        remap = np.full(len(self.ids), -1, dtype=np.int64)
        remap[pick] = np.arange(len(pick))
        theirs = remap[volunteers.window_owner] >= 0 if len(volunteers.window_owner) else np.zeros(0, dtype=bool)
        changes: dict[str, object] = {}
        for f in fields(VolunteerArrays):
            value = getattr(volunteers, f.name)
            if f.name.startswith("window_"):
                value = value[theirs]
                changes[f.name] = remap[value] if f.name == "window_owner" else value
            elif f.name == "volunteers":
                changes[f.name] = []
            elif isinstance(value, list):
                changes[f.name] = [value[j] for j in at]
            elif value.ndim == 1:
                changes[f.name] = value[pick]
            else:
                changes[f.name] = value[:, pick]
        return replace(volunteers, **changes), pick  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Few:
    """The volunteers rules 7, 9 and 10 can concern, shaped as ``_blocked`` reads them."""

    ids: list[str]
    excluded_team_keys: list[frozenset[str]]
    matched_request_ids: list[frozenset[str]]
    standings: list[Standing]

    def __len__(self) -> int:
        return len(self.ids)


def _blocked_few(req: RequestArrays, vol: VolunteerArrays, concerned: np.ndarray) -> np.ndarray:
    """``grid._blocked`` (the very rules) run over only the volunteers ``concerned`` (an
    exclusion, a decided match or a commitment), then put back in the full grid's coordinates."""
    few = concerned.tolist()
    if not few:
        return np.zeros(0, dtype=np.int64)
    sub = _Few(
        ids=[vol.ids[j] for j in few],
        excluded_team_keys=[vol.excluded_team_keys[j] for j in few],
        matched_request_ids=[vol.matched_request_ids[j] for j in few],
        standings=[vol.standings[j] for j in few],
    )
    codes = _blocked(req, cast(VolunteerArrays, sub))
    request, k = np.divmod(codes, len(few))
    out = request * len(vol) + np.array(few, dtype=np.int64)[k]
    return np.sort(out)
