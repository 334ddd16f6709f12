"""Rescores are taken from the durable queue many at a time: one engine run for a burst."""

from __future__ import annotations

from matcher.config import MatchingConfig
from matcher.domain import Coordinator, MatchStatus
from matcher.services import decisions, intake, rescoring
from tests import factories
from tests.fakes import FakeClock, FakeUnitOfWork

CONFIG = MatchingConfig()


def test_a_burst_of_requests_and_offers_is_one_run_and_each_event_is_answered_once(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    volunteers = [intake.register_volunteer(uow, factories.offer(), clock) for _ in range(3)]
    requests = [intake.submit_request(uow, factories.team_request(), clock) for _ in range(5)]

    run = rescoring.drain_once(uow, CONFIG, clock, limit=100)

    assert (run.taken, run.requests) == (8, 5)
    suggested = {m.team_request_id for m in uow.matches.where(status=MatchStatus.SUGGESTED)}
    assert suggested == {r.id for r in requests}
    assert rescoring.drain_once(uow, CONFIG, clock, limit=100).taken == 0
    assert {m.volunteer_id for m in uow.matches.where(status=MatchStatus.SUGGESTED)} <= {v.id for v in volunteers}


def test_a_burst_bigger_than_the_batch_takes_several_runs_in_order(uow: FakeUnitOfWork, clock: FakeClock) -> None:
    intake.register_volunteer(uow, factories.offer(), clock)
    for _ in range(5):
        intake.submit_request(uow, factories.team_request(), clock)

    runs = rescoring.drain(lambda: uow, CONFIG, clock, limit=2)

    assert [r.taken for r in runs] == [2, 2, 2]


def test_an_approval_rescores_the_volunteers_other_requests(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator
) -> None:
    volunteer = intake.register_volunteer(uow, factories.offer(max_commitments=1), clock)
    first, second = (intake.submit_request(uow, factories.team_request(), clock) for _ in range(2))
    rescoring.drain_once(uow, CONFIG, clock, limit=100)
    on_first = uow.matches.where(team_request_id=first.id, volunteer_id=volunteer.id)[0]
    assert uow.matches.where(team_request_id=second.id, volunteer_id=volunteer.id)

    decisions.approve(uow, on_first.id, coordinator, clock)
    run = rescoring.drain_once(uow, CONFIG, clock, limit=100)

    # Their one place is taken: the other request's suggestion of them goes.
    assert run.taken == 1 and run.requests >= 1
    assert uow.matches.where(team_request_id=second.id, volunteer_id=volunteer.id) == []
