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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from matcher.config import MatchingConfig
from matcher.domain import TeamRequest, Volunteer, VolunteerStatus, _minutes
from matcher.proposals import Candidate
from matcher.rules import Standing, required_trainings
from matcher.scoring import FLEXIBLE_HOURS_FOR_FULL_FIT, STAGES_NEEDING_QI, fairness_fraction

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
        return cls(
            areas=Vocabulary(
                [v.home_area for v in volunteers] + [a for v in volunteers for a in v.travel_areas]
                + [r.area for r in requests]
            ),
            roles=Vocabulary([r for v in volunteers for r in v.roles] + [x["role"] for r in requests for x in r.roles]),
            modes=Vocabulary([m for v in volunteers for m in v.modes] + [m for r in requests for m in r.modes]),
            trainings=Vocabulary(
                [t for v in volunteers for t in v.training_codes]
                + [t for r in requests for t in r.required_trainings]
                + [t for ts in config.role_trainings.values() for t in ts]
            ),
            experience=Vocabulary(
                [e for v in volunteers for e in v.experience] + [e for r in requests for e in r.experience_sought]
            ),
            topics=Vocabulary([t for v in volunteers for t in v.interests] + [t for r in requests for t in r.topics]),
            languages=Vocabulary(
                [x for v in volunteers for x in v.languages] + [x for r in requests for x in r.languages]
            ),
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
    excluded_team_keys: list[set[str]]
    matched_request_ids: list[frozenset[str]]

    def __len__(self) -> int:
        return len(self.ids)


def team_key(name: str) -> str:
    return name.strip().casefold()


def encode_volunteers(candidates: Sequence[Candidate], vocab: Vocabularies) -> VolunteerArrays:
    cands = sorted(candidates, key=lambda c: c.volunteer.id)
    vols = [c.volunteer for c in cands]
    stands = [c.standing for c in cands]
    n = len(vols)
    # One pass over people collecting coordinates, then one scatter per array: at tens
    # of thousands of volunteers the Python loop is the cost of encoding.
    areas, roles = vocab.areas.index, vocab.roles.index
    tag_vocabs = (vocab.experience.index, vocab.topics.index, vocab.languages.index)
    travel_at: tuple[list[int], list[int]] = ([], [])
    role_at: tuple[list[int], list[int]] = ([], [])
    role_pref: list[float] = []
    tags_at: list[tuple[list[int], list[int]]] = [([], []), ([], []), ([], [])]
    owner, day, start, end = [], [], [], []
    flexible = np.zeros(n, dtype=np.float64)
    day_index = {d: i for i, d in enumerate(DAYS)}
    for j, v in enumerate(vols):
        for a in v.travel_areas:
            if a in areas:
                travel_at[0].append(areas[a])
                travel_at[1].append(j)
        for position, role in enumerate(v.roles):
            if role in roles and role not in v.roles[:position]:
                role_at[0].append(roles[role])
                role_at[1].append(j)
                # Same arithmetic as scoring.role_preference, so the floats agree exactly.
                role_pref.append(1.0 - position / max(len(v.roles), 1))
        for k, codes in enumerate((v.experience, v.interests, v.languages)):
            index = tag_vocabs[k]
            for code in codes:
                if code in index:
                    tags_at[k][0].append(index[code])
                    tags_at[k][1].append(j)
        total = 0
        for w in v.availability:
            s, e = _minutes(w["start"]), _minutes(w["end"])
            total += max(e - s, 0)
            owner.append(j)
            day.append(day_index.get(w["day"], -1))
            start.append(s)
            end.append(e)
        # Same arithmetic as scoring.availability_fit for flexible requests.
        flexible[j] = min(total / 60 / FLEXIBLE_HOURS_FOR_FULL_FIT, 1.0)
    # One extra all-False row: a request in an area no volunteer knows indexes it as -1.
    travel = np.zeros((len(vocab.areas) + 1, n), dtype=bool)
    travel[travel_at] = True
    # Again one extra empty row, for a role nobody offers (index -1).
    offered = np.zeros((len(vocab.roles) + 1, n), dtype=bool)
    offered[role_at] = True
    preference = np.zeros((len(vocab.roles) + 1, n), dtype=np.float64)
    preference[role_at] = role_pref
    indicators = []
    for k, v_ in enumerate((vocab.experience, vocab.topics, vocab.languages)):
        m = np.zeros((max(len(v_), 1), n), dtype=np.float32)
        m[tags_at[k]] = 1.0
        indicators.append(m)
    active = np.array([s.active_commitments for s in stands], dtype=np.int64)
    past = np.array([s.involvements for s in stands], dtype=np.int64)
    waiting = np.array([s.waiting_days for s in stands], dtype=np.int64)
    maxc = np.array([v.max_commitments for v in vols], dtype=np.int64)
    reserved = np.array([c.reserved_elsewhere for c in cands], dtype=np.int64)
    usable = np.array([v.status == VolunteerStatus.ACTIVE and v.has_consent for v in vols], dtype=bool)
    usable &= active < maxc
    training_codes = [v.training_codes for v in vols]
    return VolunteerArrays(
        ids=[v.id for v in vols],
        volunteers=vols,
        standings=stands,
        usable=usable,
        capacity=np.maximum(maxc - active - reserved, 0),
        # -2, not -1: an unknown home must never equal an unknown request area.
        home=np.array([vocab.areas.get(v.home_area) if v.home_area in vocab.areas.index else -2 for v in vols],
                      dtype=np.int64),
        travel=travel,
        modes=np.array([_bits(v.modes, vocab.modes) for v in vols], dtype=vocab.mode_dtype),
        trainings=np.array([_bits(t, vocab.trainings) for t in training_codes], dtype=vocab.training_dtype),
        qi_trained=np.array([not trained.isdisjoint(QI_TRAININGS) for trained in training_codes], dtype=bool),
        role_offered=offered,
        role_preference=preference,
        experience=indicators[0],
        topics=indicators[1],
        languages=indicators[2],
        flexible_fit=flexible,
        # The scalar scorer's own function, so the floats agree exactly.
        fairness=fairness_fraction(past + active, waiting),
        waiting_days=waiting,
        previous=past + active,
        window_owner=np.array(owner, dtype=np.int64),
        window_day=np.array(day, dtype=np.int64),
        window_start=np.array(start, dtype=np.int64),
        window_end=np.array(end, dtype=np.int64),
        excluded_team_keys=[{team_key(t) for t in v.excluded_teams} for v in vols],
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
