"""A burst of requests is rescored in a few engine runs, and no rescore is lost or stuck.

Each event that asks for a rescore leaves a row in ``rescores_due`` in its own
transaction; workers take many rows at once (SKIP LOCKED) and delete them in the
transaction that stores the suggestions.
"""

from __future__ import annotations

import dataclasses
import threading

import pytest
from sqlalchemy import text

from matcher.adapters.store import SqlUnitOfWork, session_factory
from matcher.bootstrap import Services
from matcher.domain import MatchStatus
from matcher.services import intake, rescoring, suggestions
from tests import factories
from tests.integration.conftest import Processes, eventually

pytestmark = pytest.mark.integration


def due_rows(services: Services) -> int:
    assert services.engine is not None
    with services.engine.connect() as conn:
        return int(conn.execute(text("select count(*) from rescores_due")).scalar_one())


def with_suggestions(services: Services, request_ids: list[str]) -> set[str]:
    with services.uow() as uow:
        return {m.team_request_id for m in uow.matches.where(team_request_id=request_ids, status=MatchStatus.SUGGESTED)}


def test_a_burst_of_requests_is_rescored_in_one_engine_run(services: Services, clean: None) -> None:
    clock, config = services.clock, services.settings.matching
    for _ in range(6):
        intake.register_volunteer(services.uow(), factories.offer(), clock)
    requests = [intake.submit_request(services.uow(), factories.team_request(), clock).id for _ in range(12)]
    assert due_rows(services) == 6 + 12  # every registration and submission left one

    run = rescoring.drain_once(services.uow(), config, clock, limit=500)

    assert (run.taken, run.requests) == (18, 12)  # every event answered, every request in the one run
    assert with_suggestions(services, requests) == set(requests)
    assert due_rows(services) == 0
    assert rescoring.drain_once(services.uow(), config, clock, limit=500).taken == 0


def test_a_drain_that_dies_leaves_its_rescores_for_the_next(
    services: Services, clean: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, config = services.clock, services.settings.matching
    intake.register_volunteer(services.uow(), factories.offer(), clock)
    request = intake.submit_request(services.uow(), factories.team_request(), clock).id

    def dies(*args: object, **kwargs: object) -> int:
        raise RuntimeError("worker killed mid-run")

    with monkeypatch.context() as m:
        m.setattr(suggestions, "rescore_within", dies)
        with pytest.raises(RuntimeError):
            rescoring.drain_once(services.uow(), config, clock, limit=500)
    assert due_rows(services) == 2 and with_suggestions(services, [request]) == set()

    assert rescoring.drain_once(services.uow(), config, clock, limit=500).taken == 2
    assert with_suggestions(services, [request]) == {request}


def test_two_workers_draining_at_once_take_different_rescores(services: Services, clean: None) -> None:
    clock = services.clock
    intake.register_volunteer(services.uow(), factories.offer(), clock)
    for _ in range(4):
        intake.submit_request(services.uow(), factories.team_request(), clock)
    first_holds = threading.Event()
    release = threading.Event()
    taken: dict[str, list[int]] = {}

    def slow_worker() -> None:
        with services.uow() as uow:
            taken["slow"] = [d.id for d in uow.rescores.take(2)]
            first_holds.set()
            release.wait(10)
            uow.rollback()

    t = threading.Thread(target=slow_worker)
    t.start()
    assert first_holds.wait(10)
    with services.uow() as uow:  # not blocked by the rows the slow worker holds
        taken["fast"] = [d.id for d in uow.rescores.take(10)]
        uow.rollback()
    release.set()
    t.join()
    assert len(taken["slow"]) == 2 and len(taken["fast"]) == 3
    assert not set(taken["slow"]) & set(taken["fast"])


def test_rescores_whose_messages_were_lost_are_done_by_the_periodic_drain(
    services: Services, processes: Processes
) -> None:
    # Written through a unit of work that publishes nothing: as if Redis lost the messages.
    quiet = dataclasses.replace(services, uow_factory=lambda: SqlUnitOfWork(session_factory(services.engine)))
    intake.register_volunteer(quiet.uow(), factories.offer(), services.clock)
    request = intake.submit_request(quiet.uow(), factories.team_request(), services.clock).id
    assert due_rows(services) == 2

    processes.env["QIMATCH_RESCORE_SWEEP_SECONDS"] = "1"
    processes.worker()
    processes.beat()

    eventually(lambda: with_suggestions(services, [request]) == {request}, seconds=60)
    eventually(lambda: due_rows(services) == 0)
