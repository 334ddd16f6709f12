"""Figures for the kept population: ``python -m benchmarks.population [--sizes 2000,20000] [--rss 50000]``.

For each size, on a PostgreSQL database of its own (created here, dropped after;
``QIMATCH_BENCH_PG_URL`` names the server, default the local one) holding that
many realistic volunteers (``matcher.generate``: several availability windows,
trainings, exclusions; about 86% active) and 200 open requests:

- one ``suggest_for_request`` the old way (every active volunteer read through the
  ORM and encoded) and with a warm kept population, alternately, in this process:
  medians and their ratio;
- the first full load of the kept population;
- the CPU time (all threads) of scoring and assigning one request against the kept
  volunteers, without the database;
- a refresh after one change (an offer edited; a new sign-up), as a worker's next
  event pays it;

and, in a fresh process, the resident memory of a process holding a population of
``--rss`` volunteers (built from generated offers a chunk at a time, as a full load
reads them) with the worker's imports loaded, against the same process before.

Timings on a shared machine are noisy: compare the ratios from one run.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import create_engine, text

from matcher.bootstrap import Services, bootstrap
from matcher.config import Settings
from matcher.domain import VolunteerStatus
from matcher.engine.pipeline import propose_encoded
from matcher.generate import generate, make_volunteer
from matcher.services import intake, suggestions
from matcher.services.population import KeptVolunteers

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def now(self) -> datetime:
        return NOW


@contextmanager
def database(admin_url: str) -> Iterator[str]:
    name = f"qimatch_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fill(services: Services, volunteers: int, requests: int, seed: int) -> list[str]:
    data = generate(requests, volunteers, seed=seed)
    for lo in range(0, len(data.volunteers), 2_000):
        with services.uow() as uow:
            for v in data.volunteers[lo : lo + 2_000]:
                v.created_at = v.updated_at = NOW - timedelta(days=random.Random(v.id).randrange(400))
                uow.volunteers.add(v)
            uow.commit()
    with services.uow() as uow:
        for r in data.requests:
            r.created_at = r.updated_at = NOW
            uow.requests.add(r)
        uow.commit()
    assert services.engine is not None
    with services.engine.connect() as conn:
        # What autovacuum does to a table this size within a minute: without statistics the
        # planner would scan every volunteer for the few marked since the last look.
        conn.execute(text("ANALYZE"))
        conn.commit()
    return [r.id for r in data.requests]


def _median(fn: Callable[[], object], times: int) -> float:
    seconds = []
    for _ in range(times):
        t = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t)
    return statistics.median(seconds)


def measure(admin_url: str, size: int, repeats: int) -> None:
    with database(admin_url) as url:
        services = bootstrap(Settings.from_env({"QIMATCH_DATABASE_URL": url}), migrate_database=True)
        config, clock = services.settings.matching, Clock()
        t = time.perf_counter()
        request_ids = _fill(services, size, 200, seed=size)
        filled = time.perf_counter() - t
        with services.uow() as uow:
            active = uow.matching_reads.active_count()
        print(f"\n{size:,} volunteers ({active:,} active), 200 open requests (stored in {filled:.0f} s)")

        kept = KeptVolunteers()
        t = time.perf_counter()
        suggestions.suggest_for_request(services.uow(), request_ids[0], config, clock, kept)
        print(f"  first event with a kept population (full load + event): {time.perf_counter() - t:8.3f} s")

        old, new = [], []
        for k in range(repeats):  # alternately, so both see the same machine load
            rid = request_ids[1 + k % 50]
            old.append(_median(partial(suggestions.suggest_for_request, services.uow(), rid, config, clock), 1))
            new.append(_median(partial(suggestions.suggest_for_request, services.uow(), rid, config, clock, kept), 1))
        o, n = statistics.median(old), statistics.median(new)
        print(f"  suggest_for_request, old way (median of {repeats}):        {o * 1000:8.1f} ms")
        print(
            f"  suggest_for_request, kept population (median of {repeats}): {n * 1000:8.1f} ms   ({o / n:.1f}x faster)"
        )

        with services.uow() as uow:
            population = kept.current(uow, config)
            held = uow.matching_reads.held_elsewhere([request_ids[1]])
            request = uow.requests.get(request_ids[1])
            assert request is not None
            counts = {request.id: request.open_places(uow.matches.where(team_request_id=request.id))}
        cpu = []
        for _ in range(repeats):
            c = time.process_time()
            propose_encoded(population.pairing([request], counts, NOW, held), config)
            cpu.append(time.process_time() - c)
        cpu_ms = statistics.median(cpu) * 1000
        print(f"  one request scored and assigned against {len(population):,} kept (CPU, median): {cpu_ms:6.1f} ms")

        rng = random.Random(size)
        edits, signups = [], []
        for k in range(repeats):
            vid = population.ids[rng.randrange(len(population))]
            other, _ = make_volunteer(rng, 900_000 + k)
            intake.update_volunteer(
                services.uow(), vid, {"roles": other.roles, "availability": other.availability}, clock
            )
            with services.uow() as uow:
                edits.append(_median(lambda: kept.current(uow, config), 1))  # noqa: B023 - called at once
            offer = {
                "name": "New Volunteer", "email": f"new{size}-{k}@example.org", "kind": other.kind,
                "home_area": other.home_area, "roles": other.roles, "modes": other.modes,
                "availability": other.availability, "max_commitments": 2, "consent": {"version": "2026-01"},
            }  # fmt: skip
            intake.register_volunteer(services.uow(), offer, clock)
            with services.uow() as uow:
                signups.append(_median(lambda: kept.current(uow, config), 1))  # noqa: B023 - called at once
        print(f"  refresh after one offer edited (median):  {statistics.median(edits) * 1000:8.1f} ms")
        print(f"  refresh after one new sign-up (median):   {statistics.median(signups) * 1000:8.1f} ms")
        print(f"  full loads in all: {kept.full_loads}")
        assert services.engine is not None
        services.engine.dispose()


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def hold(size: int) -> None:
    """In its own process: the worker's imports, then a population of ``size`` volunteers."""
    import celery  # noqa: F401 - a worker has these loaded too
    import ortools.graph.python.min_cost_flow  # noqa: F401

    import workers.publisher  # noqa: F401
    from matcher.engine.population import Member, Population

    before = _rss_kb()
    population = Population(Settings.from_env({}).matching)
    rng = random.Random(size)
    n = 0
    while n < size:  # a chunk of offers alive at a time, as a full load reads them
        chunk = []
        while len(chunk) < 2_000 and n < size:
            v, s = make_volunteer(rng, n)
            v.status = VolunteerStatus.ACTIVE
            since = None if s.active_commitments else NOW - timedelta(days=s.waiting_days)
            chunk.append(Member(v, s, since))
            n += 1
        population.apply(chunk)
        del chunk
    after = _rss_kb()
    arrays = sum(a.nbytes for a in population.arrays.values())
    arrays += sum(c.nbytes for f in population.facts.values() for c in f.columns.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"\nA process holding {len(population):,} kept volunteers (worker imports loaded):")
    print(f"  RSS before {before / 1024:6.0f} MB, after {after / 1024:6.0f} MB, peak {peak / 1024:6.0f} MB")
    print(f"  of which the kept numpy arrays: {arrays / 2**20:6.1f} MB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--rss", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--hold", type=int, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--pg", default=None)
    args = parser.parse_args(argv)
    if args.hold:
        hold(args.hold)
        return
    import os

    admin_url = args.pg or os.environ.get("QIMATCH_BENCH_PG_URL") or PG_URL
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; load average {os.getloadavg()}")
    for size in (int(s) for s in args.sizes.split(",") if s):
        measure(admin_url, size, args.repeats)
    if args.rss:
        subprocess.run([sys.executable, "-m", "benchmarks.population", "--hold", str(args.rss)], check=True)


if __name__ == "__main__":
    main()
