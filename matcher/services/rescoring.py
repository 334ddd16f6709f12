"""Rescoring in bursts: every rescore due, many at a time, in one engine run.

Each event that asks for a rescore leaves a row in the durable queue in its own
transaction (``domain.RESCORES``). A worker takes up to ``limit`` rows nobody else
holds, rescores the union of what they touch together, and deletes the rows in the
transaction that stores the new suggestions. So 300 requests posted at once cost a
handful of engine runs, not 300; a worker that dies mid-run leaves its rows for the
next; and a broker message lost with Redis is made good by the periodic drain.
"""

from __future__ import annotations

from dataclasses import dataclass

from matcher.config import MatchingConfig
from matcher.domain import Rescore
from matcher.ports import Clock, UnitOfWork, UnitOfWorkFactory
from matcher.services import suggestions
from matcher.services.population import KeptVolunteers


@dataclass(frozen=True)
class Drained:
    taken: int  # queue rows done (events answered)
    requests: int  # requests rescored for them, in one engine run


def drain_once(
    uow: UnitOfWork, config: MatchingConfig, clock: Clock, limit: int, population: KeptVolunteers | None = None
) -> Drained:
    """Take up to ``limit`` rescores due and do them in one transaction and one engine run
    (against the worker's kept ``population`` of volunteers, if given)."""
    with uow:
        due = uow.rescores.take(limit)
        if not due:
            return Drained(0, 0)
        request_ids = {d.subject_id for d in due if d.subject == Rescore.REQUEST}
        volunteer_ids = sorted({d.subject_id for d in due if d.subject == Rescore.VOLUNTEER})
        request_ids |= suggestions.touched_by(uow, volunteer_ids, config, population)
        rescored = suggestions.rescore_within(uow, request_ids, config, clock.now(), population)
        uow.rescores.done(due)
        uow.commit()
        return Drained(len(due), rescored)


def drain(
    uow_factory: UnitOfWorkFactory,
    config: MatchingConfig,
    clock: Clock,
    limit: int,
    population: KeptVolunteers | None = None,
) -> list[Drained]:
    """Drain until nothing is due (a burst that keeps arriving is taken in further runs)."""
    runs: list[Drained] = []
    while True:
        run = drain_once(uow_factory(), config, clock, limit, population)
        if not run.taken:
            return runs
        runs.append(run)
