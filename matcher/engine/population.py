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
from typing import Any, TypeVar

import numpy as np

from matcher.config import MatchingConfig
from matcher.domain import TeamRequest, Volunteer, _minutes
from matcher.engine.encode import (
    DAYS,
    RequestArrays,
    Vocabularies,
    VolunteerArrays,
    encode_requests,
    encode_volunteers,
    slot_fits,
    team_key,
)
from matcher.engine.grid import FACTORS, Pairing
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
# Up to this many columns added or removed at once, the lists are edited in place.
FEW = 256


class Ids(list[str]):
    """The kept ids: a list, as ``VolunteerArrays.ids`` is, that numpy reads as the array
    kept beside it instead of converting tens of thousands of strings per event."""

    def __init__(self, ids: list[str], array: np.ndarray) -> None:
        super().__init__(ids)
        self.array = array

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.array if dtype is None else self.array.astype(dtype)


class Facts:
    """Rows about volunteers, several per person or none: each row names its ``owner`` column.

    Availability windows (as the encoder flattens them), and what rules 7, 9 and 10
    read: teams excluded, requests with a decided match, meeting slots committed to.
    """

    def __init__(self, **columns: np.ndarray) -> None:
        self.columns = columns

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def without(self, owners: np.ndarray) -> Facts:
        keep = ~np.isin(self.columns["owner"], owners)
        return Facts(**{k: v[keep] for k, v in self.columns.items()})

    def moved(self, to: np.ndarray) -> Facts:
        """Owners renumbered by ``to`` (old column -> new, -1 dropped)."""
        owner = to[self.columns["owner"]] if len(self.columns["owner"]) else self.columns["owner"]
        keep = owner >= 0
        return Facts(**{k: (owner if k == "owner" else v)[keep] for k, v in self.columns.items()})

    def plus(self, other: Facts) -> Facts:
        return Facts(**{k: np.concatenate([v, other.columns[k]]) for k, v in self.columns.items()})


class Population:
    """Encoded columns of the active volunteers, sorted by id, updated in place."""

    def __init__(self, config: MatchingConfig) -> None:
        self.config = config
        self.vocab = Vocabularies.build([], [], config)
        empty = encode_volunteers([], self.vocab, config)
        self.ids = Ids([], np.array([], dtype="<U1"))
        self.arrays: dict[str, np.ndarray] = {name: getattr(empty, name) for name in _FLAT + _ROWS}
        self.arrays.update(
            consented=np.zeros(0, dtype=bool),
            max_commitments=np.zeros(0, dtype=np.int64),
            active=np.zeros(0, dtype=np.int64),
            past=np.zeros(0, dtype=np.int64),
            since=np.zeros(0, dtype=np.int64),
            waits=np.zeros(0, dtype=bool),
        )
        # Codes for team names and request ids, so rules 7 and 9 are integer joins.
        self._teams: dict[str, int] = {}
        self._requests: dict[str, int] = {}
        self.facts = self._facts([], empty)
        # The engine's per-volunteer lists, kept only so the arrays are whole ``VolunteerArrays``;
        # this module's own rules 7, 9 and 10 read the facts instead.
        self.excluded_team_keys: list[frozenset[str]] = []
        self.matched_request_ids: list[frozenset[str]] = []
        self.standings: list[Standing] = []

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, volunteer_id: object) -> bool:
        return isinstance(volunteer_id, str) and self.position(volunteer_id) is not None

    def position(self, volunteer_id: str) -> int | None:
        at = int(np.searchsorted(self.ids.array, volunteer_id))
        return at if at < len(self.ids) and self.ids[at] == volunteer_id else None

    # -- changes ---------------------------------------------------------------------------

    def apply(self, upserts: Sequence[Member] = (), removals: Iterable[str] = ()) -> None:
        """Take in new or changed volunteers and drop those no longer active.

        A volunteer both upserted and removed is upserted. Removing one not kept is
        a no-op, so the caller may pass every changed volunteer that is not active.
        """
        latest = {m.volunteer.id: m for m in upserts}
        members = [latest[vid] for vid in sorted(latest)]  # the encoder's order too
        if members:
            self._grow_vocabularies([m.volunteer for m in members])
        batch = self._encode(members)
        fresh = {**{name: getattr(batch, name) for name in _FLAT + _ROWS}, **self._own(members)}
        facts = self._facts(members, batch)
        at = [self.position(m.volunteer.id) for m in members]
        present = [(b, j) for b, j in enumerate(at) if j is not None]
        if present:
            self._overwrite(batch, fresh, facts, present)
        new = [b for b, j in enumerate(at) if j is None]
        gone = sorted({j for j in (self.position(vid) for vid in removals if vid not in latest) if j is not None})
        if new or gone:
            self._reshape(batch, fresh, facts, new, gone)

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

    @staticmethod
    def _own(members: Sequence[Member]) -> dict[str, np.ndarray]:
        """What the kept arrays hold beyond the encoder's: the parts of usable, capacity and fairness."""
        return {
            "consented": np.array([m.volunteer.has_consent for m in members], dtype=bool),
            "max_commitments": np.array([m.volunteer.max_commitments for m in members], dtype=np.int64),
            "active": np.array([m.standing.active_commitments for m in members], dtype=np.int64),
            "past": np.array([m.standing.involvements for m in members], dtype=np.int64),
            "since": np.array([micros(m.waiting_since) if m.waiting_since else 0 for m in members], dtype=np.int64),
            "waits": np.array([m.waiting_since is not None for m in members], dtype=bool),
        }

    def _facts(self, members: Sequence[Member], batch: VolunteerArrays) -> dict[str, Facts]:
        """The batch's fact rows, owned by their column in the batch."""
        commit: list[list[int]] = [[], [], [], []]
        exclude: list[list[int]] = [[], []]
        decided: list[list[int]] = [[], []]
        for b, m in enumerate(members):
            for slot in m.standing.committed_slots:
                day = DAYS.index(slot.day) if slot.day in DAYS else -1  # an unknown day clashes with nothing
                for column, value in zip(commit, (b, day, _minutes(slot.start), _minutes(slot.end)), strict=True):
                    column.append(value)
            for key in batch.excluded_team_keys[b]:
                exclude[0].append(b)
                exclude[1].append(self._teams.setdefault(key, len(self._teams)))
            for rid in m.standing.matched_request_ids:
                decided[0].append(b)
                decided[1].append(self._requests.setdefault(rid, len(self._requests)))

        def ints(values: list[int]) -> np.ndarray:
            return np.array(values, dtype=np.int64)

        return {
            "windows": Facts(
                owner=batch.window_owner, day=batch.window_day, start=batch.window_start, end=batch.window_end
            ),
            "commitments": Facts(
                owner=ints(commit[0]), day=ints(commit[1]), start=ints(commit[2]), end=ints(commit[3])
            ),
            "exclusions": Facts(owner=ints(exclude[0]), key=ints(exclude[1])),
            "decided": Facts(owner=ints(decided[0]), request=ints(decided[1])),
        }

    def _overwrite(
        self,
        batch: VolunteerArrays,
        fresh: dict[str, np.ndarray],
        facts: dict[str, Facts],
        present: list[tuple[int, int]],
    ) -> None:
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
        # Their fact rows: the old ones out, the new ones in.
        to = np.full(len(batch), -1, dtype=np.int64)
        to[b] = j
        self.facts = {k: self.facts[k].without(j).plus(facts[k].moved(to)) for k in self.facts}

    def _reshape(
        self,
        batch: VolunteerArrays,
        fresh: dict[str, np.ndarray],
        facts: dict[str, Facts],
        new: list[int],
        gone: list[int],
    ) -> None:
        """Columns added (in id order) and removed: every array laid out again once."""
        old_n = len(self.ids)
        kept = np.setdiff1d(np.arange(old_n), np.array(gone, dtype=np.int64), assume_unique=True)
        new_b = np.array(new, dtype=np.int64)
        new_ids = np.array([batch.ids[b] for b in new], dtype=str)
        kept_ids = self.ids.array[kept]
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
        moved = np.full(old_n, -1, dtype=np.int64)
        moved[kept] = kept_to
        placed = np.full(len(batch), -1, dtype=np.int64)
        placed[new_b] = new_to
        self.facts = {k: self.facts[k].moved(moved).plus(facts[k].moved(placed)) for k in self.facts}
        # The lists, in the same new order.
        ids = np.empty(n, dtype=np.promote_types(self.ids.array.dtype, new_ids.dtype))
        ids[kept_to] = kept_ids
        ids[new_to] = new_ids
        placed_new = list(zip(new_to.tolist(), new, strict=True))
        self.ids = Ids(_relaid(self.ids, gone, [(to, batch.ids[b]) for to, b in placed_new], kept, kept_to, n), ids)
        self.excluded_team_keys = _relaid(
            self.excluded_team_keys,
            gone,
            [(to, batch.excluded_team_keys[b] or NO_CODES) for to, b in placed_new],
            kept,
            kept_to,
            n,
        )
        self.matched_request_ids = _relaid(
            self.matched_request_ids,
            gone,
            [(to, _held(batch, b).matched_request_ids) for to, b in placed_new],
            kept,
            kept_to,
            n,
        )
        self.standings = _relaid(
            self.standings, gone, [(to, _held(batch, b)) for to, b in placed_new], kept, kept_to, n
        )

    def _set_lists(self, j: int, batch: VolunteerArrays, b: int) -> None:
        self.excluded_team_keys[j] = batch.excluded_team_keys[b] or NO_CODES
        held = _held(batch, b)
        self.matched_request_ids[j] = held.matched_request_ids
        self.standings[j] = held

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
        windows = self.facts["windows"]
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
            window_owner=windows["owner"],
            window_day=windows["day"],
            window_start=windows["start"],
            window_end=windows["end"],
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
        to = None
        if volunteer_ids is not None:
            volunteers, pick = self.columns(volunteers, volunteer_ids)
            to = np.full(len(self.ids), -1, dtype=np.int64)
            to[pick] = np.arange(len(pick))
        req = encode_requests(requests, open_counts_by_request, self.vocab, self.config)
        # Pairing.build, with rules 7, 9 and 10 joined from the kept facts instead of a
        # loop over every volunteer.
        return Pairing(
            vocab=self.vocab,
            config=self.config,
            requests=req,
            volunteers=volunteers,
            weights={name: float(self.config.weights.get(name, 0.0)) for name in FACTORS},
            fits=slot_fits(req.slots, volunteers),
            blocked=self.blocked(req, len(volunteers), to),
        )

    def blocked(self, req: RequestArrays, n: int, to: np.ndarray | None = None) -> np.ndarray:
        """``grid._blocked`` from the facts: sorted codes request * n + column of the pairs that
        rule 7 (a team they excluded), 9 (a decided match) or 10 (a clashing commitment) removes.

        ``to`` renumbers kept columns for a pairing of only some of them (-1: left out).
        """
        parts = []
        ex, dec, com = self.facts["exclusions"], self.facts["decided"], self.facts["commitments"]
        if len(ex["owner"]):
            keys = np.array([self._teams.get(team_key(r.team_name), -1) for r in req.requests], dtype=np.int64)
            parts.append(_joined(keys, ex["key"], ex["owner"]))
        if len(dec["owner"]):
            keys = np.array([self._requests.get(rid, -1) for rid in req.ids], dtype=np.int64)
            parts.append(_joined(keys, dec["request"], dec["owner"]))
        if len(com["owner"]) and req.slots:
            parts.append(_clashing(req, com))
        if not parts:
            return np.zeros(0, dtype=np.int64)
        request = np.concatenate([p[0] for p in parts])
        column = np.concatenate([p[1] for p in parts])
        if to is not None:
            column = to[column]
            request, column = request[column >= 0], column[column >= 0]
        return np.unique(request * n + column)

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


def _held(batch: VolunteerArrays, b: int) -> Standing:
    """What rules 9 and 10 read of someone's standing; most hold nothing and share one."""
    s = batch.standings[b]
    if not (s.matched_request_ids or s.committed_slots):
        return NOTHING_HELD
    return Standing(matched_request_ids=s.matched_request_ids, committed_slots=s.committed_slots)


T = TypeVar("T")


def _relaid(
    old: list[T], gone: list[int], new: list[tuple[int, T]], kept: np.ndarray, kept_to: np.ndarray, n: int
) -> list[T]:
    """A per-column list with columns ``gone`` taken out and ``new`` (final place, item) put in."""
    if len(gone) + len(new) <= FEW:
        out = list(old)
        for j in reversed(gone):
            del out[j]
        for to, item in new:  # in order of final place, so each goes straight where it ends
            out.insert(to, item)
        return out
    laid: list[T | None] = [None] * n
    for src, dst in zip(kept.tolist(), kept_to.tolist(), strict=True):
        laid[dst] = old[src]
    for to, item in new:
        laid[to] = item
    return laid  # type: ignore[return-value]


def _joined(keys: np.ndarray, fact_keys: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(request, column) for every request whose key equals a fact's key (-1 keys match nothing)."""
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    lo = np.searchsorted(ranked, fact_keys, side="left")
    count = np.searchsorted(ranked, fact_keys, side="right") - lo
    start = np.repeat(lo, count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return order[start], np.repeat(owners, count)


def _clashing(req: RequestArrays, com: Facts) -> tuple[np.ndarray, np.ndarray]:
    """(request, column) for every request listing a meeting slot that overlaps a commitment's (rule 10)."""
    day = np.array([d for d, _, _ in req.slots], dtype=np.int64)
    start = np.array([a for _, a, _ in req.slots], dtype=np.int64)
    end = np.array([b for _, _, b in req.slots], dtype=np.int64)
    overlap = (
        (com["day"][:, None] == day[None, :])
        & (com["day"][:, None] >= 0)
        & (com["start"][:, None] < end[None, :])
        & (start[None, :] < com["end"][:, None])
    )
    fact, slot = np.nonzero(overlap)
    # Requests listing each slot, grouped by slot.
    listed_slot, listed_request = np.nonzero((req.slot_counts[:, : len(req.slots)] > 0).T)
    lo = np.searchsorted(listed_slot, slot, side="left")
    count = np.searchsorted(listed_slot, slot, side="right") - lo
    at = np.repeat(lo, count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return listed_request[at], np.repeat(com["owner"][fact], count)
