"""A kept population, changed volunteer by volunteer, is the same as encoding everyone afresh."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import numpy as np

from matcher.config import MatchingConfig
from matcher.domain import Volunteer, VolunteerStatus
from matcher.engine import propose_all
from matcher.engine.encode import VolunteerArrays, encode_volunteers
from matcher.engine.grid import Pairing
from matcher.engine.incremental import requests_for_kept, requests_for_offer
from matcher.engine.pipeline import propose_encoded
from matcher.engine.population import Member, Population
from matcher.generate import generate, make_volunteer
from matcher.proposals import Candidate
from matcher.rules import Standing

CONFIG = MatchingConfig()
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def member(v: Volunteer, s: Standing) -> Member:
    since = None if s.active_commitments else NOW - timedelta(days=s.waiting_days, hours=3)
    return Member(v, s, since)


def fresh(members: dict[str, Member], reserved: dict[str, int] | None = None) -> list[Candidate]:
    """The candidates a full rescore would make of the same volunteers."""
    reserved = reserved or {}
    return [
        Candidate(
            m.volunteer,
            dataclasses.replace(m.standing, waiting_days=_waited(m)),
            reserved_elsewhere=reserved.get(vid, 0),
        )
        for vid, m in sorted(members.items())
        if m.volunteer.status == VolunteerStatus.ACTIVE
    ]


def assert_same_arrays(population: Population, members: dict[str, Member], reserved: dict[str, int]) -> None:
    kept = population.volunteer_arrays(NOW, reserved)
    again = encode_volunteers(fresh(members, reserved), population.vocab, CONFIG)
    assert kept.ids == again.ids
    for f in dataclasses.fields(again):
        if f.name in ("volunteers", "standings", "ids"):
            continue
        a, b = getattr(kept, f.name), getattr(again, f.name)
        if f.name.startswith("window_"):
            continue  # compared as a set of windows below: their order does not matter
        if isinstance(b, list):
            assert a == b, f.name
        else:
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), f.name
    assert _windows(kept) == _windows(again)
    assert [s.committed_slots for s in kept.standings] == [s.committed_slots for s in again.standings]


def changed(rng: random.Random, v: Volunteer, n: int) -> Volunteer:
    """Another offer from the same person: a new volunteer's offer under their id."""
    other, _ = make_volunteer(rng, n)
    return dataclasses.replace(other, id=v.id, status=VolunteerStatus.ACTIVE)


def test_upserts_and_removals_give_the_arrays_a_fresh_encode_gives():
    rng = random.Random(5)
    population_data = generate(30, 300, seed=8)
    members = {v.id: member(v, population_data.standings[v.id]) for v in population_data.volunteers}
    kept = Population(CONFIG)
    items = list(members.values())
    for lo in range(0, len(items), 70):  # taken in as chunks, as a first load reads them
        kept.apply([m for m in items[lo : lo + 70] if m.volunteer.status == VolunteerStatus.ACTIVE])
    assert_same_arrays(kept, members, {})
    for step in range(40):
        vid = rng.choice(sorted(members))
        m = members[vid]
        what = rng.choice(["edit", "pause", "new", "commit", "many"])
        if what == "edit":
            members[vid] = dataclasses.replace(m, volunteer=changed(rng, m.volunteer, 10_000 + step))
        elif what == "pause":
            members[vid] = dataclasses.replace(m, volunteer=dataclasses.replace(m.volunteer, status="paused"))
        elif what == "new":
            v, s = make_volunteer(rng, 20_000 + step)
            members[v.id] = member(dataclasses.replace(v, status=VolunteerStatus.ACTIVE), s)
            vid = v.id
        elif what == "commit":
            s = dataclasses.replace(m.standing, active_commitments=m.standing.active_commitments + 1)
            members[vid] = Member(m.volunteer, s, None)
        changes = [vid] if what != "many" else rng.sample(sorted(members), 12)
        if what == "many":
            for c in changes:
                members[c] = dataclasses.replace(
                    members[c], volunteer=changed(rng, members[c].volunteer, 30_000 + step)
                )
        active = [members[c] for c in changes if members[c].volunteer.status == VolunteerStatus.ACTIVE]
        kept.apply(active, [c for c in changes if members[c].volunteer.status != VolunteerStatus.ACTIVE])
        reserved = {c: 1 for c in rng.sample(sorted(members), 5)}
        assert_same_arrays(kept, members, reserved)


def test_a_code_nobody_had_grows_the_vocabulary_without_encoding_anyone_again():
    rng = random.Random(3)
    data = generate(10, 80, seed=4)
    members = {
        v.id: member(dataclasses.replace(v, status=VolunteerStatus.ACTIVE), data.standings[v.id])
        for v in data.volunteers
    }
    kept = Population(CONFIG)
    kept.apply(list(members.values()))
    before = {name: len(getattr(kept.vocab, name)) for name in ("areas", "roles", "modes", "trainings", "topics")}
    v, s = make_volunteer(rng, 99_999)
    newcomer = dataclasses.replace(
        v,
        status=VolunteerStatus.ACTIVE,
        home_area="isle_of_dogs",
        travel_areas=["canary_wharf"],
        roles=["new_role", *v.roles],
        modes=[*v.modes, "by_letter"],
        trainings=[*v.trainings, {"code": "new_training", "completed_on": "2026-01-01"}],
        interests=["brand_new_topic"],
    )
    members[newcomer.id] = member(newcomer, s)
    kept.apply([members[newcomer.id]])
    assert {name: len(getattr(kept.vocab, name)) for name in before} == {
        "areas": before["areas"] + 2,
        "roles": before["roles"] + 1,
        "modes": before["modes"] + 1,
        "trainings": before["trainings"] + 1,
        "topics": before["topics"] + 1,
    }
    assert_same_arrays(kept, members, {})


def test_the_kept_pairing_gives_the_suggestions_a_full_rescore_gives():
    rng = random.Random(11)
    data = generate(40, 500, seed=12)
    members = {v.id: member(v, data.standings[v.id]) for v in data.volunteers}
    kept = Population(CONFIG)
    kept.apply([m for m in members.values() if m.volunteer.status == VolunteerStatus.ACTIVE])
    for step in range(6):
        for vid in rng.sample(sorted(members), 20):  # a few change between events
            members[vid] = dataclasses.replace(
                members[vid], volunteer=changed(rng, members[vid].volunteer, 40_000 + step * 100 + len(vid))
            )
        kept.apply(
            [m for m in members.values() if m.volunteer.status == VolunteerStatus.ACTIVE],
            [v for v, m in members.items() if m.volunteer.status != VolunteerStatus.ACTIVE],
        )
        requests = rng.sample(data.requests, 8)
        counts = {r.id: data.open_counts[r.id] for r in requests}
        reserved = {vid: 1 for vid in rng.sample(sorted(members), 30)}
        expected = propose_all(requests, fresh(members, reserved), counts, CONFIG)
        assert any(expected.values())
        assert propose_encoded(kept.pairing(requests, counts, NOW, reserved), CONFIG) == expected


def test_the_kept_pairing_blocks_the_pairs_a_fresh_pairing_blocks():
    data = generate(60, 400, seed=2)
    members = {
        v.id: member(dataclasses.replace(v, status=VolunteerStatus.ACTIVE), data.standings[v.id])
        for v in data.volunteers
    }
    kept = Population(CONFIG)
    kept.apply(list(members.values()))
    kept_pairing = kept.pairing(data.requests, data.open_counts, NOW)
    full = Pairing.build(
        kept_pairing.requests, encode_volunteers(fresh(members), kept.vocab, CONFIG), kept.vocab, CONFIG
    )
    assert len(full.blocked) and np.array_equal(kept_pairing.blocked, full.blocked)


def _waited(m: Member) -> int:
    return 0 if m.waiting_since is None else max((NOW - m.waiting_since).days, 0)


def _windows(arrays: VolunteerArrays) -> list[tuple[int, ...]]:
    names = ("window_owner", "window_day", "window_start", "window_end")
    return sorted(zip(*(getattr(arrays, n).tolist() for n in names), strict=True))


def test_the_requests_a_kept_volunteer_could_serve_are_those_their_offer_alone_could():
    data = generate(80, 300, seed=6)
    members = {
        v.id: member(dataclasses.replace(v, status=VolunteerStatus.ACTIVE), data.standings[v.id])
        for v in data.volunteers
    }
    kept = Population(CONFIG)
    kept.apply(list(members.values()))
    some = sorted(members)[::7]
    expected = set()
    for vid in some:
        expected |= set(
            requests_for_offer(data.requests, Candidate(members[vid].volunteer, members[vid].standing), CONFIG)
        )
    assert expected and requests_for_kept(kept, data.requests, some) == expected
    assert requests_for_kept(kept, data.requests, ["nobody"]) == set()
