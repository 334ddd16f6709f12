"""Two worker processes, each keeping its own encoded population, store exactly the
suggestions a full rescore (every active volunteer read and encoded afresh) would.

A seeded random programme of sign-ups, requests, offer edits, pauses, resumptions,
withdrawals, erasures, approvals, rejections, closes and periodic assignments runs
on one PostgreSQL database. After each step one of two worker processes, chosen at
random, does the rescores the step left due with its kept population. Before it
does, the same rescores are computed the old way in a transaction that is rolled
back: afterwards the stored suggestions of every request must be exactly those,
and every other request's must be as they were.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import random
import traceback
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

import pytest

from matcher.bootstrap import Services, bootstrap
from matcher.config import Settings
from matcher.domain import Coordinator, MatchStatus, RequestStatus, TeamRequest, Volunteer, VolunteerStatus
from matcher.errors import Conflict, Invalid
from matcher.generate import AREAS, make_request, make_volunteer
from matcher.proposals import Proposal
from matcher.services import decisions, endings, intake, rescoring, suggestions, volunteer_self
from matcher.services.population import KeptVolunteers

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def _worker(env: dict[str, str], conn: Connection) -> None:
    """A worker process: its own services and its own kept population, for as long as it lives."""
    services = bootstrap(Settings.from_env(env))
    kept = KeptVolunteers()
    config = services.settings.matching
    while True:
        command = conn.recv()
        if command is None:
            return
        what, now = command
        clock = FixedClock(now)
        try:
            if what == "drain":
                runs = rescoring.drain(services.uow, config, clock, 10_000, kept)
                done = sum(r.requests for r in runs)
            else:
                done = suggestions.propose_assignment(services.uow(), config, clock, kept)["requests"]
            conn.send(("ok", done, kept.full_loads))
        except Exception:  # noqa: BLE001 - the test reads it
            conn.send(("error", traceback.format_exc(), kept.full_loads))


@pytest.fixture
def workers(stack_env: dict[str, str], clean: None) -> Iterator[list[Connection]]:
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    for _ in range(2):
        ours, theirs = context.Pipe()
        process = context.Process(target=_worker, args=(stack_env, theirs), daemon=True)
        process.start()
        pipes.append(ours)
        processes.append(process)
    yield pipes
    for pipe, process in zip(pipes, processes, strict=True):
        pipe.send(None)
        process.join(timeout=30)
        if process.is_alive():
            process.kill()


def _offer(v: Volunteer, n: int) -> dict[str, Any]:
    return {
        "name": f"Volunteer {n}",
        "email": f"v{n}@example.org",
        "kind": v.kind,
        "home_area": v.home_area,
        "roles": v.roles,
        "modes": v.modes,
        "availability": v.availability,
        "max_commitments": v.max_commitments,
        "travel_areas": v.travel_areas,
        "experience": v.experience,
        "interests": v.interests,
        "languages": v.languages,
        "trainings": v.trainings,
        "excluded_teams": v.excluded_teams,
        "consent": {"version": "2026-01"},
    }


def _request_in(r: TeamRequest) -> dict[str, Any]:
    fields = {f.name: getattr(r, f.name) for f in dataclasses.fields(r)}
    keep = ["team_name", "project_title", "area", "qi_stage", "roles", "modes", "topics"]
    keep += ["experience_sought", "meeting_slots", "languages", "required_trainings"]
    return {**{k: fields[k] for k in keep}, "contact": {"name": r.contact_name, "email": r.contact_email}}


Row = tuple[str, str, float, dict[str, float], bool, int]


def _stored(main: Services) -> dict[str, list[Row]]:
    with main.uow() as uow:
        out: dict[str, list[Row]] = {r.id: [] for r in uow.requests.where()}
        for m in uow.matches.where(status=MatchStatus.SUGGESTED):
            out[m.team_request_id].append((m.volunteer_id, m.role, m.score, dict(m.factors), m.proposed, m.rank))
    return {rid: sorted(rows, key=lambda row: row[5]) for rid, rows in out.items()}


def _rows(proposals: list[Proposal]) -> list[Row]:
    return [(p.volunteer_id, p.role, p.score, dict(p.factors), p.proposed, p.rank) for p in proposals]


def _reference(main: Services, now: datetime, beat: bool) -> dict[str, list[Row]]:
    """What the old path (every active volunteer read and encoded) would store, rolled back."""
    config = main.settings.matching
    uow = main.uow()
    with uow:
        if beat:
            requests = uow.requests.where(status=RequestStatus.OPEN, order_by="id", for_update=True)
        else:
            due = uow.rescores.take(10_000)
            request_ids = {d.subject_id for d in due if d.subject.value == "request"}
            volunteer_ids = sorted({d.subject_id for d in due if d.subject.value == "volunteer"})
            request_ids |= suggestions.touched_by(uow, volunteer_ids, config)
            requests = uow.requests.where(id=sorted(request_ids), order_by="id", for_update=True)
        proposals = suggestions._resolve(uow, requests, config, now)[1] if requests else {}
        expected = {r.id: _rows(proposals.get(r.id, [])) for r in requests}
        uow.rollback()
    return expected


class Programme:
    """The random steps, each through the use case a person's action goes through."""

    def __init__(self, main: Services, rng: random.Random, coordinator: Coordinator) -> None:
        self.main, self.rng, self.coordinator = main, rng, coordinator
        self.clock = FixedClock(START)
        self.n = 0

    def _pick(self, items: list[Any]) -> Any:
        return self.rng.choice(items) if items else None

    def _volunteers(self, *statuses: str) -> list[str]:
        with self.main.uow() as uow:
            return [v.id for v in uow.volunteers.where(status=list(statuses), order_by="id") if not v.erased]

    def _matches(self, *statuses: str) -> list[str]:
        with self.main.uow() as uow:
            return [m.id for m in uow.matches.where(status=list(statuses), order_by="id")]

    def sign_up(self) -> None:
        self.n += 1
        v, _ = make_volunteer(self.rng, self.n)
        intake.register_volunteer(self.main.uow(), _offer(v, self.n), self.clock)

    def ask(self) -> None:
        self.n += 1
        r = make_request(self.rng, self.n, scarce=self.rng.random() < 0.2)
        intake.submit_request(self.main.uow(), _request_in(r), self.clock)

    def edit(self) -> None:
        vid = self._pick(self._volunteers(VolunteerStatus.ACTIVE, VolunteerStatus.PAUSED))
        if vid:
            self.n += 1
            other, _ = make_volunteer(self.rng, self.n)
            field = self.rng.choice(["availability", "roles", "modes", "travel_areas", "max_commitments", "languages"])
            changes = {field: getattr(other, field)}
            if self.rng.random() < 0.2:  # a code nobody had before: the kept vocabularies grow
                changes = {"interests": [f"topic_{self.n}"], "roles": [*other.roles, f"role_{self.n % 3}"]}
            intake.update_volunteer(self.main.uow(), vid, changes, self.clock)

    def pause(self) -> None:
        vid = self._pick(self._volunteers(VolunteerStatus.ACTIVE))
        if vid:
            until = self.clock.now().date() + timedelta(days=self.rng.choice([2, 9, 30]))
            volunteer_self.pause_until(self.main.uow(), vid, until, self.clock)

    def resume(self) -> None:
        vid = self._pick(self._volunteers(VolunteerStatus.PAUSED))
        if vid:
            volunteer_self.resume(self.main.uow(), vid, self.clock)

    def withdraw(self) -> None:
        vid = self._pick(self._volunteers(VolunteerStatus.ACTIVE, VolunteerStatus.PAUSED))
        if vid:
            volunteer_self.withdraw(self.main.uow(), vid, self.clock)

    def erase(self) -> None:
        vid = self._pick(self._volunteers(VolunteerStatus.ACTIVE, VolunteerStatus.PAUSED, VolunteerStatus.WITHDRAWN))
        if vid:
            volunteer_self.erase(self.main.uow(), vid, self.clock)

    def approve(self) -> None:
        mid = self._pick(self._matches(MatchStatus.SUGGESTED))
        if mid:
            decisions.approve(self.main.uow(), mid, self.coordinator, self.clock)

    def reject(self) -> None:
        mid = self._pick(self._matches(MatchStatus.SUGGESTED))
        if mid:
            decisions.reject(self.main.uow(), mid, self.coordinator, "not this time", self.clock)

    def close_match(self) -> None:
        mid = self._pick(self._matches(*MatchStatus.COMMITTED))
        if mid:
            endings.close_match(self.main.uow(), mid, self.coordinator, "finished", self.clock)

    def close_request(self) -> None:
        with self.main.uow() as uow:
            rid = self._pick([r.id for r in uow.requests.where(status=RequestStatus.OPEN, order_by="id")])
        if rid:
            endings.close_request(self.main.uow(), rid, self.coordinator, self.clock)

    def later(self) -> None:
        self.clock.current += timedelta(days=self.rng.choice([1, 3, 12]), hours=self.rng.randrange(24))


STEPS = {
    "sign_up": 6,
    "ask": 3,
    "edit": 4,
    "pause": 2,
    "resume": 2,
    "withdraw": 1,
    "erase": 1,
    "approve": 6,
    "reject": 2,
    "close_match": 2,
    "close_request": 1,
    "beat": 1,
}


def test_two_workers_keeping_populations_store_what_a_full_rescore_would(
    services: Services, stack_env: dict[str, str], workers: list[Connection]
) -> None:
    rng = random.Random(20260302)
    main = bootstrap(Settings.from_env(stack_env))  # no publisher: the workers here are ours
    with main.uow() as uow:
        # Every area, so every request is this coordinator's to decide on.
        coordinator = Coordinator(
            email="c@example.nhs.uk", password_hash="x", areas=list(AREAS), admin=True, created_at=START
        )
        uow.coordinators.add(coordinator)
        uow.commit()
    programme = Programme(main, rng, coordinator)
    for _ in range(120):
        programme.sign_up()
    for _ in range(12):
        programme.ask()
    kinds, weights = zip(*STEPS.items(), strict=True)
    checked = 0
    for step in range(90):
        kind = "beat" if step == 0 else rng.choices(kinds, weights)[0]
        if rng.random() < 0.2:
            programme.later()
        if kind != "beat":
            # Refused as a person would be (a clash, no place left): then nothing changed.
            with contextlib.suppress(Conflict, Invalid):
                getattr(programme, kind)()
        now = programme.clock.now()
        before = _stored(main)
        expected = _reference(main, now, beat=kind == "beat")
        pipe = rng.choice(workers)
        pipe.send(("beat" if kind == "beat" else "drain", now))
        status, done, _ = pipe.recv()
        assert status == "ok", done
        assert done == len(expected), f"step {step} ({kind}): rescored {done} requests, the old path {len(expected)}"
        after = _stored(main)
        for rid, rows in after.items():
            want = expected.get(rid, before.get(rid, []))
            assert rows == want, f"step {step} ({kind}), request {rid}"
        checked += len(expected)
    assert checked > 50  # the steps did rescore requests, and plenty of them
    with main.uow() as uow:
        held = uow.matches.count(status=list(MatchStatus.COMMITTED))
        closed = uow.matches.count(status=MatchStatus.CLOSED)
        erased = sum(1 for v in uow.volunteers.where() if v.erased)
    assert held and closed and erased  # approvals, closes and erasures all happened
    # Each worker read everyone once, then only what changed.
    for pipe in workers:
        pipe.send(("drain", programme.clock.now()))
        status, _, full_loads = pipe.recv()
        assert status == "ok" and full_loads == 1


def test_a_worker_keeps_its_population_between_events_and_reads_only_what_changed(
    services: Services, stack_env: dict[str, str], clean: None
) -> None:
    """The watermark itself: a change made elsewhere is seen, and nothing unchanged is read again."""
    main = bootstrap(Settings.from_env(stack_env))
    rng = random.Random(7)
    clock = FixedClock(START)
    for n in range(30):
        v, _ = make_volunteer(rng, n)
        intake.register_volunteer(main.uow(), _offer(v, n), clock)
    kept = KeptVolunteers()
    config = main.settings.matching
    with main.uow() as uow:
        population = kept.current(uow, config)
        first = len(population)
        assert first == 30
    with main.uow() as uow:
        vid = uow.volunteers.where(order_by="id")[0].id
    volunteer_self.pause_until(main.uow(), vid, date(2026, 3, 20), clock)
    with main.uow() as uow:
        # (Rows marked by transactions still running anywhere in the cluster at the last look
        # are read again too: so this holds the one that changed, and maybe a few more.)
        assert vid in uow.matching_reads.changed_since(kept._mark)
        assert vid not in kept.current(uow, config)
        assert len(kept.current(uow, config)) == first - 1
    assert kept.full_loads == 1
