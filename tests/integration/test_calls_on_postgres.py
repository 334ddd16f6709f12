"""The call list on real PostgreSQL: a call recorded by two coordinators at the same moment is
recorded once (the other is told, in words), and the database itself refuses a second call
for the same volunteer, reason and subject."""

from __future__ import annotations

import pytest

from matcher.bootstrap import Services
from matcher.calls import Call, CallReason, CallSubject
from matcher.domain import Coordinator
from matcher.errors import Concurrent, Conflict
from matcher.services import calls, decisions, intake
from tests import factories
from tests.integration.test_races import at_once, coordinator  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


def phone_call_owed(services: Services, lead: Coordinator) -> Call:
    clock, config = services.clock, services.settings.matching
    offer = factories.offer(phone="020 7946 0000", preferred_contact="phone")
    volunteer = intake.register_volunteer(services.uow(), offer, clock)
    request = intake.submit_request(services.uow(), factories.team_request(), clock)
    decisions.make_match(services.uow(), request.id, volunteer.id, "focus_group", lead, config, clock)
    with services.uow() as uow:
        (call,) = uow.calls.where(volunteer_id=volunteer.id)
    return call


def test_two_coordinators_recording_one_call_at_once_record_it_once(
    services: Services,
    coordinator: Coordinator,  # noqa: F811
) -> None:
    other = Coordinator(
        email="second@nhs.example", password_hash="-", areas=["tower_hamlets"], created_at=services.clock.now()
    )
    with services.uow() as uow:
        uow.coordinators.add(other)
        uow.commit()
    for _ in range(5):
        call = phone_call_owed(services, coordinator)
        results = at_once(
            lambda c=call: calls.record(services.uow(), c.id, coordinator, "First: all set", services.clock),
            lambda c=call: calls.record(services.uow(), c.id, other, "Second: all set", services.clock),
        )
        done = [r for r in results if isinstance(r, Call)]
        refused = [r for r in results if isinstance(r, Conflict)]
        assert len(done) == 1 and len(refused) == 1, results
        assert "already" in refused[0].message
        with services.uow() as uow:
            stored = uow.calls.get(call.id)
            assert stored is not None and stored.note == done[0].note
            assert len(uow.events.where(kind="call.made", volunteer_id=call.volunteer_id)) == 1
            assert len(uow.audit.where(action="call.record", subject_id=call.volunteer_id)) == 1


def test_the_database_refuses_a_second_call_for_the_same_cause(
    services: Services,
    coordinator: Coordinator,  # noqa: F811
) -> None:
    call = phone_call_owed(services, coordinator)
    twin = Call(call.volunteer_id, CallReason.INTRODUCTION, CallSubject.MATCH, call.subject_id, services.clock.now())
    with pytest.raises(Concurrent), services.uow() as uow:
        uow.calls.add(twin)
        uow.commit()
    with services.uow() as uow:
        assert uow.calls.count(volunteer_id=call.volunteer_id) == 1
