"""A worker's own copy of the active volunteers, encoded, brought up to date on each use.

One per process (``matcher.bootstrap.Services.population``). The first use loads
every active volunteer, a few thousand at a time, and encodes them
(``matcher.engine.population``); every later use reads only the volunteers
marked since its last look (``volunteers.change_mark``, see
``matcher.adapters.matching_reads`` for why that is safe on PostgreSQL) and
upserts or removes just those. So an event costs the same at 2,000 volunteers
as at 20,000, less the scoring itself.

A full load happens again only when the matching policy changes, or when the
count of active volunteers disagrees with what is kept (rows removed behind the
application's back, as a test's TRUNCATE does).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from matcher.config import MatchingConfig
from matcher.domain import VolunteerStatus
from matcher.engine.population import Member, Population
from matcher.ports import UnitOfWork
from matcher.services.standing import standings_and_waits

# Volunteers read and encoded at a time on a full load: bounds the ORM objects alive at once.
LOAD_CHUNK = 2_000


class KeptVolunteers:
    def __init__(self, chunk: int = LOAD_CHUNK) -> None:
        self.chunk = chunk
        self._population: Population | None = None
        self._mark = 0
        self._lock = threading.Lock()  # one refresh at a time if a process shares it between threads
        self.full_loads = 0  # how often everyone was read (for tests and the benchmark)

    def current(self, uow: UnitOfWork, config: MatchingConfig) -> Population:
        """Inside a unit of work: the population as of now, read from what changed since last time."""
        with self._lock:
            population = self._population
            if population is None or population.config != config:
                return self._load(uow, config)
            for _ in range(2):
                horizon = uow.matching_reads.horizon()  # first: a write committing meanwhile is read again
                changed = uow.matching_reads.changed_since(self._mark)
                if changed:
                    self._take_in(uow, population, changed)
                self._mark = horizon
                if uow.matching_reads.active_count() == len(population):
                    return population
                # A write may have committed between the two reads: catch up once more
                # before deciding that rows went behind the marks' back.
            return self._load(uow, config)

    def forget(self) -> None:
        """The next use loads everyone again."""
        with self._lock:
            self._population = None

    def _load(self, uow: UnitOfWork, config: MatchingConfig) -> Population:
        horizon = uow.matching_reads.horizon()
        population = Population(config)
        ids = uow.matching_reads.active_ids()
        for lo in range(0, len(ids), self.chunk):
            self._take_in(uow, population, ids[lo : lo + self.chunk])
        self._population, self._mark = population, horizon
        self.full_loads += 1
        return population

    @staticmethod
    def _take_in(uow: UnitOfWork, population: Population, volunteer_ids: Sequence[str]) -> None:
        volunteers = uow.volunteers.where(id=list(volunteer_ids), order_by="id")
        active = [v for v in volunteers if v.status == VolunteerStatus.ACTIVE]
        parts = standings_and_waits(uow, active)
        population.apply(
            [Member(v, *parts[v.id]) for v in active],
            # Paused, withdrawn, erased or gone: not a candidate any more.
            set(volunteer_ids) - {v.id for v in active},
        )


__all__ = ["KeptVolunteers"]
