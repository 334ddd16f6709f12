"""Changing an offer: by a coordinator who may see the volunteer, or by the volunteer themselves."""

from __future__ import annotations

import pytest

from matcher.domain import Coordinator
from matcher.errors import NotFound
from matcher.services import intake
from tests import factories
from tests.fakes import FakeClock, FakeUnitOfWork


def test_a_coordinator_changes_only_an_offer_they_can_see_and_a_refusal_changes_nothing() -> None:
    u, clock = FakeUnitOfWork(), FakeClock()
    volunteer = intake.register_volunteer(u, factories.offer(home_area="newham", travel_areas=[]), clock)
    luton = Coordinator("luton@nhs.example", "x", ["luton"])
    newham = Coordinator("newham@nhs.example", "x", ["newham"])
    with pytest.raises(NotFound):
        intake.update_volunteer(u, volunteer.id, {"status": "paused"}, clock, coordinator=luton)
    assert volunteer.status == "active" and u.kinds(volunteer_id=volunteer.id) == ["volunteer.registered"]
    intake.update_volunteer(u, volunteer.id, {"status": "paused"}, clock, coordinator=newham)
    assert volunteer.status == "paused" and u.kinds(volunteer_id=volunteer.id)[-1] == "volunteer.updated"


def test_a_training_ticked_again_keeps_its_date_on_record() -> None:
    u, clock = FakeUnitOfWork(), FakeClock()
    done = [{"code": "qi_introduction", "completed_on": "2025-05-01"}]
    volunteer = intake.register_volunteer(u, factories.offer(trainings=done), clock)
    ticked = [{"code": "qi_introduction", "completed_on": None}, {"code": "qi_pocket", "completed_on": None}]
    intake.update_volunteer(u, volunteer.id, {"trainings": ticked}, clock)
    assert volunteer.trainings == [
        {"code": "qi_introduction", "completed_on": "2025-05-01"},
        {"code": "qi_pocket", "completed_on": None},
    ]
