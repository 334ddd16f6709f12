"""People as arrays: encode volunteers and requests once, then score in bulk.

Codes come from vocabularies a trust edits, so nothing here assumes a fixed
list: a vocabulary is built from the codes the two sides actually use. A code
only one side uses can never contribute to a match, which is why a code unknown
to the vocabulary is simply "held by nobody" (it still counts in a request's
denominator, exactly as in ``matcher.scoring``).

Volunteers are columns, request-roles ("demand rows") are rows. Everything is
sorted by id first, so the same people in any order give the same arrays and
therefore the same assignment.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from matcher.config import MatchingConfig
from matcher.domain import TeamRequest, Volunteer, VolunteerStatus, _minutes
from matcher.proposals import Candidate
from matcher.rules import Standing, required_trainings
from matcher.scoring import STAGES_NEEDING_QI, fairness_fraction

QI_TRAININGS = ("qi_introduction", "qi_pocket", "improvement_coach")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Vocabulary:
    """Code -> small integer, in first-seen order of a sorted input (deterministic)."""

    def __init__(self, codes: Iterable[str] = ()) -> None:
        self.index: dict[str, int] = {}
        for code in sorted(set(codes)):
            self.index[code] = len(self.index)

    def __len__(self) -> int:
        return len(self.index)

    def get(self, code: str) -> int:
        return self.index.get(code, -1)

    def indices(self, codes: Iterable[str]) -> list[int]:
        return [i for i in (self.get(c) for c in codes) if i >= 0]

    def extended(self, codes: Iterable[str]) -> Vocabulary:
        """This vocabulary with any new ``codes`` appended (sorted) after the ones it has.

        Codes already known keep their index, so arrays encoded with this vocabulary
        stay valid once given rows (or bits) for the new codes: a kept population
        grows its vocabulary without encoding anybody again. Which index a code has
        never changes a score.
        """
        grown = Vocabulary()
        grown.index = dict(self.index)
        for code in sorted(set(codes) - self.index.keys()):
            grown.index[code] = len(grown.index)
        return grown


def _uint_for(bits: int) -> type[np.unsignedinteger]:
    # Modes and trainings are short lists; a bitmask keeps the pairwise test one AND.
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if bits <= np.dtype(dtype).itemsize * 8:
            return dtype
    raise ValueError(f"a bitmask vocabulary holds at most 64 codes, got {bits}")


@dataclass(frozen=True)
class Vocabularies:
    areas: Vocabulary
    roles: Vocabulary
    modes: Vocabulary
    trainings: Vocabulary  # the last bit stands for "a training nobody has"
    experience: Vocabulary
    topics: Vocabulary
    languages: Vocabulary

    @property
    def mode_dtype(self) -> type[np.unsignedinteger]:
        return _uint_for(max(len(self.modes), 1))

    @property
    def training_dtype(self) -> type[np.unsignedinteger]:
        return _uint_for(len(self.trainings) + 1)

    @property
    def unknown_training_bit(self) -> int:
        return 1 << len(self.trainings)

    @classmethod
    def build(
        cls, volunteers: Sequence[Volunteer], requests: Sequence[TeamRequest], config: MatchingConfig
    ) -> Vocabularies:
        # Codes from both sides: then a newcomer on either side (incremental scoring) can
        # only bring codes that nobody on the other side uses, which never score.
        def every(*groups: Iterable[Iterable[str]]) -> Iterator[str]:
            return chain.from_iterable(chain.from_iterable(groups))

        return cls(
            areas=Vocabulary(
                chain(
                    (v.home_area for v in volunteers),
                    every(v.travel_areas for v in volunteers),
                    (r.area for r in requests),
                )
            ),
            roles=Vocabulary(chain(every(v.roles for v in volunteers), (x["role"] for r in requests for x in r.roles))),
            modes=Vocabulary(every((v.modes for v in volunteers), (r.modes for r in requests))),
            trainings=Vocabulary(
                chain(
                    (t["code"] for v in volunteers for t in v.trainings),  # Volunteer.training_codes
                    every((r.required_trainings for r in requests), config.role_trainings.values()),
                )
            ),
            experience=Vocabulary(every((v.experience for v in volunteers), (r.experience_sought for r in requests))),
            topics=Vocabulary(every((v.interests for v in volunteers), (r.topics for r in requests))),
            languages=Vocabulary(every((v.languages for v in volunteers), (r.languages for r in requests))),
        )


def _bits(codes: Iterable[str], vocab: Vocabulary) -> int:
    mask = 0
    for i in vocab.indices(codes):
        mask |= 1 << i
    return mask


@dataclass(frozen=True)
class VolunteerArrays:
    """One column per volunteer, sorted by id."""

    ids: list[str]
    volunteers: list[Volunteer]
    standings: list[Standing]
    usable: np.ndarray  # bool: active, consented, below max_commitments (rules 1 and 8)
    capacity: np.ndarray  # int: places this run may still give them
    home: np.ndarray  # int: area index, -2 if unknown to the vocabulary
    travel: np.ndarray  # bool (areas + 1, V); the last row is all False
    modes: np.ndarray  # uint bitmask
    trainings: np.ndarray  # uint bitmask
    qi_trained: np.ndarray  # bool: any QI training, for stage readiness
    role_offered: np.ndarray  # bool (roles + 1, V); the last row is all False
    role_preference: np.ndarray  # float64 (roles + 1, V): 1 - position/len, as in scoring
    experience: np.ndarray  # float32 (tags, V)
    topics: np.ndarray
    languages: np.ndarray
    flexible_fit: np.ndarray  # float64: availability fit for requests without fixed slots
    fairness: np.ndarray  # float64: the fairness fraction from their standing
    previous: np.ndarray  # int: past plus current commitments, for reporting first-timers
    waiting_days: np.ndarray  # int: see Standing.waiting_days
    # Availability windows, flattened: which volunteer, day index, start and end minute.
    window_owner: np.ndarray
    window_day: np.ndarray
    window_start: np.ndarray
    window_end: np.ndarray
    excluded_team_keys: list[frozenset[str]]
    matched_request_ids: list[frozenset[str]]

    def __len__(self) -> int:
        return len(self.ids)


def team_key(name: str) -> str:
    return name.strip().casefold()


def encode_volunteers(candidates: Sequence[Candidate], vocab: Vocabularies, config: MatchingConfig) -> VolunteerArrays:
    cands = sorted(candidates, key=lambda c: c.volunteer.id)
    n = len(cands)
    # One pass over people collecting coordinates and scalars into flat lists, then one
    # array per list: at tens of thousands of volunteers the Python loop is the cost of
    # encoding, so it does nothing twice and allocates as few objects as it can (every
    # set or dict made per person also feeds the garbage collector's full passes).
    areas, roles = vocab.areas.index, vocab.roles.index
    mode_index, training_index = vocab.modes.index, vocab.trainings.index
    exp_index, topic_index, lang_index = vocab.experience.index, vocab.topics.index, vocab.languages.index
    vols: list[Volunteer] = []
    stands: list[Standing] = []
    travel_area: list[int] = []
    travel_vol: list[int] = []
    role_row: list[int] = []
    role_vol: list[int] = []
    role_pref: list[float] = []
    tag_code: tuple[list[int], list[int], list[int]] = ([], [], [])
    tag_vol: tuple[list[int], list[int], list[int]] = ([], [], [])
    owner: list[int] = []
    day: list[int] = []
    start: list[int] = []
    end: list[int] = []
    home: list[int] = []
    mode_bits: list[int] = []
    training_bits: list[int] = []
    qi: list[bool] = []
    usable: list[bool] = []
    active: list[int] = []
    past: list[int] = []
    waiting: list[int] = []
    maxc: list[int] = []
    reserved: list[int] = []
    excluded: list[frozenset[str]] = []
    declared_count = config.declared_trainings_count
    day_index = {d: i for i, d in enumerate(DAYS)}
    minute_of: dict[str, int] = {}  # "HH:MM" -> minutes; a population uses few distinct times
    no_exclusions: frozenset[str] = frozenset()
    for j, c in enumerate(cands):
        v, s = c.volunteer, c.standing
        vols.append(v)
        stands.append(s)
        for a in v.travel_areas:
            i = areas.get(a)
            if i is not None:
                travel_area.append(i)
                travel_vol.append(j)
        offered = v.roles
        for position, role in enumerate(offered):
            i = roles.get(role)
            # A role listed twice counts at its first place, as in scoring.role_preference.
            if i is not None and offered.index(role) == position:
                role_row.append(i)
                role_vol.append(j)
                # Same arithmetic as scoring.role_preference, so the floats agree exactly.
                role_pref.append(1.0 - position / max(len(offered), 1))
        for codes, index, code_at, vol_at in (
            (v.experience, exp_index, tag_code[0], tag_vol[0]),
            (v.interests, topic_index, tag_code[1], tag_vol[1]),
            (v.languages, lang_index, tag_code[2], tag_vol[2]),
        ):
            for code in codes:
                i = index.get(code)
                if i is not None:
                    code_at.append(i)
                    vol_at.append(j)
        for w in v.availability:
            for hhmm in (w["start"], w["end"]):
                if hhmm not in minute_of:
                    minute_of[hhmm] = _minutes(hhmm)
            owner.append(j)
            day.append(day_index.get(w["day"], -1))
            start.append(minute_of[w["start"]])
            end.append(minute_of[w["end"]])
        # -2, not -1: an unknown home must never equal an unknown request area.
        home.append(areas.get(v.home_area, -2))
        bits = 0
        for mode in v.modes:
            i = mode_index.get(mode)
            if i is not None:
                bits |= 1 << i
        mode_bits.append(bits)
        bits = 0
        trained = False
        for t in v.trainings:
            code = t["code"]
            i = training_index.get(code)
            # Rule 6 counts verified trainings only, unless declared ones count too
            # (Volunteer.gate_trainings); stage readiness takes any training on record.
            if i is not None and (declared_count or t.get("verified_on")):
                bits |= 1 << i
            trained = trained or code in QI_TRAININGS
        training_bits.append(bits)
        qi.append(trained)
        usable.append(v.status == VolunteerStatus.ACTIVE and v.has_consent)
        active.append(s.active_commitments)
        past.append(s.involvements)
        waiting.append(s.waiting_days)
        maxc.append(v.max_commitments)
        reserved.append(c.reserved_elsewhere)
        excluded.append(frozenset(team_key(t) for t in v.excluded_teams) if v.excluded_teams else no_exclusions)
    # One extra all-False row: a request in an area no volunteer knows indexes it as -1.
    travel = np.zeros((len(vocab.areas) + 1, n), dtype=bool)
    travel[travel_area, travel_vol] = True
    # Again one extra empty row, for a role nobody offers (index -1).
    offered_grid = np.zeros((len(vocab.roles) + 1, n), dtype=bool)
    offered_grid[role_row, role_vol] = True
    preference = np.zeros((len(vocab.roles) + 1, n), dtype=np.float64)
    preference[role_row, role_vol] = role_pref
    indicators = []
    for k, v_ in enumerate((vocab.experience, vocab.topics, vocab.languages)):
        m = np.zeros((max(len(v_), 1), n), dtype=np.float32)
        m[tag_code[k], tag_vol[k]] = 1.0
        indicators.append(m)
    window_owner = np.array(owner, dtype=np.int64)
    window_start = np.array(start, dtype=np.int64)
    window_end = np.array(end, dtype=np.int64)
    # Same arithmetic as scoring.availability_fit for flexible requests: whole minutes
    # summed (exact in float64), then divided by 60 and by the hours for a full fit.
    minutes = np.bincount(window_owner, weights=np.maximum(window_end - window_start, 0), minlength=n)
    flexible = np.minimum(minutes / 60 / config.flexible_hours_for_full_fit, 1.0)
    active_a = np.array(active, dtype=np.int64)
    past_a = np.array(past, dtype=np.int64)
    waiting_a = np.array(waiting, dtype=np.int64)
    maxc_a = np.array(maxc, dtype=np.int64)
    return VolunteerArrays(
        ids=[v.id for v in vols],
        volunteers=vols,
        standings=stands,
        usable=np.array(usable, dtype=bool) & (active_a < maxc_a),
        capacity=np.maximum(maxc_a - active_a - np.array(reserved, dtype=np.int64), 0),
        home=np.array(home, dtype=np.int64),
        travel=travel,
        modes=np.array(mode_bits, dtype=vocab.mode_dtype),
        trainings=np.array(training_bits, dtype=vocab.training_dtype),
        qi_trained=np.array(qi, dtype=bool),
        role_offered=offered_grid,
        role_preference=preference,
        experience=indicators[0],
        topics=indicators[1],
        languages=indicators[2],
        flexible_fit=flexible,
        # The scalar scorer's own function, so the floats agree exactly.
        fairness=fairness_fraction(past_a + active_a, waiting_a, config),
        waiting_days=waiting_a,
        previous=past_a + active_a,
        window_owner=window_owner,
        window_day=np.array(day, dtype=np.int64),
        window_start=window_start,
        window_end=window_end,
        excluded_team_keys=excluded,
        matched_request_ids=[s.matched_request_ids for s in stands],
    )


@dataclass(frozen=True)
class RequestArrays:
    """One entry per request (sorted by id) and one row per open request-role."""

    ids: list[str]
    requests: list[TeamRequest]
    area: np.ndarray  # int, -1 if no volunteer knows the area
    modes: np.ndarray  # uint bitmask
    in_person_bit: int  # 0 when no volunteer meets in person
    needs_qi: np.ndarray  # bool: stage after "understanding"
    experience: np.ndarray  # float32 (R, tags) multiplicities of known codes
    experience_n: np.ndarray  # float64: how many distinct codes sought (known or not)
    topics: np.ndarray
    topics_n: np.ndarray
    languages: np.ndarray
    languages_n: np.ndarray
    slots: list[tuple[int, int, int]]  # distinct meeting slots (day, start, end)
    slot_counts: np.ndarray  # float32 (R, slots): how often each slot is listed
    slot_n: np.ndarray  # float64: number of listed meeting slots, 0 = flexible
    slot_lists: np.ndarray  # int (R, most slots any request lists): slot indices, repeats kept, -1 padding
    # Demand rows: one per (request, role) with places still open.
    row_request: np.ndarray  # int index into the requests
    row_role: list[str]
    row_role_index: np.ndarray  # int, -1 if no volunteer offers the role
    row_open: np.ndarray  # int places open
    row_trainings: np.ndarray  # uint bitmask of trainings required for the row

    def __len__(self) -> int:
        return len(self.row_request)


def _counts(rows: Sequence[Sequence[str]], vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    out = np.zeros((len(rows), max(len(vocab), 1)), dtype=np.float32)
    n = np.zeros(len(rows), dtype=np.float64)
    for i, codes in enumerate(rows):
        distinct = set(codes)
        n[i] = len(distinct)
        out[i, vocab.indices(distinct)] = 1.0
    return out, n


def encode_requests(
    requests: Sequence[TeamRequest],
    open_counts: dict[str, dict[str, int]],
    vocab: Vocabularies,
    config: MatchingConfig,
) -> RequestArrays:
    reqs = sorted(requests, key=lambda r: r.id)
    slot_index: dict[tuple[int, int, int], int] = {}
    per_request_slots: list[list[int]] = []
    for r in reqs:
        listed = []
        for s in r.meeting_slots:
            key = (DAYS.index(s["day"]) if s["day"] in DAYS else -1, _minutes(s["start"]), _minutes(s["end"]))
            listed.append(slot_index.setdefault(key, len(slot_index)))
        per_request_slots.append(listed)
    slot_counts = np.zeros((len(reqs), max(len(slot_index), 1)), dtype=np.float32)
    for i, listed in enumerate(per_request_slots):
        for k in listed:
            slot_counts[i, k] += 1.0
    width = max((len(x) for x in per_request_slots), default=0)
    slot_lists = np.full((len(reqs), width), -1, dtype=np.int64)
    for i, listed in enumerate(per_request_slots):
        slot_lists[i, : len(listed)] = listed
    exp, exp_n = _counts([r.experience_sought for r in reqs], vocab.experience)
    top, top_n = _counts([r.topics for r in reqs], vocab.topics)
    lang, lang_n = _counts([r.languages for r in reqs], vocab.languages)

    row_request, row_role, row_role_index, row_open, row_train = [], [], [], [], []
    for i, r in enumerate(reqs):
        counts = open_counts.get(r.id, {})
        for role in sorted(counts):
            if counts[role] <= 0:
                continue
            needed = required_trainings(r, role, config)
            mask = _bits(needed, vocab.trainings)
            if any(vocab.trainings.get(t) < 0 for t in needed):
                mask |= vocab.unknown_training_bit
            row_request.append(i)
            row_role.append(role)
            row_role_index.append(vocab.roles.get(role))
            row_open.append(int(counts[role]))
            row_train.append(mask)
    ip = vocab.modes.get("in_person")
    return RequestArrays(
        ids=[r.id for r in reqs],
        requests=reqs,
        area=np.array([vocab.areas.get(r.area) for r in reqs], dtype=np.int64),
        modes=np.array([_bits(r.modes, vocab.modes) for r in reqs], dtype=vocab.mode_dtype),
        in_person_bit=(1 << ip) if ip >= 0 else 0,
        needs_qi=np.array([r.qi_stage in STAGES_NEEDING_QI for r in reqs], dtype=bool),
        experience=exp,
        experience_n=exp_n,
        topics=top,
        topics_n=top_n,
        languages=lang,
        languages_n=lang_n,
        slots=list(slot_index),
        slot_counts=slot_counts,
        slot_n=np.array([len(s) for s in per_request_slots], dtype=np.float64),
        slot_lists=slot_lists,
        row_request=np.array(row_request, dtype=np.int64),
        row_role=row_role,
        row_role_index=np.array(row_role_index, dtype=np.int64),
        row_open=np.array(row_open, dtype=np.int64),
        row_trainings=np.array(row_train, dtype=vocab.training_dtype),
    )


def slot_fits(slots: Sequence[tuple[int, int, int]], volunteers: VolunteerArrays) -> np.ndarray:
    """float32 (slots + 1, V): 1 where the meeting slot lies wholly inside one of the volunteer's windows.

    The extra last row is all zero, so a padding index of -1 covers nothing.
    """
    out = np.zeros((len(slots) + 1, len(volunteers)), dtype=np.float32)
    for k, (day, start, end) in enumerate(slots):
        inside = (
            (volunteers.window_day == day)
            & (volunteers.window_start <= start)
            & (end <= volunteers.window_end)
            & (day >= 0)
        )
        out[k, volunteers.window_owner[inside]] = 1.0
    return out
