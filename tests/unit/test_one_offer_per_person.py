"""One person, one live offer: an email address is recognised whatever its case."""

from __future__ import annotations

import pytest

from matcher.errors import Conflict
from matcher.services import intake, links, volunteer_self
from tests import factories
from tests.fakes import FakeClock, FakeRepository, FakeUnitOfWork


def test_the_same_address_in_another_case_is_the_same_person() -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    first = intake.register_volunteer(uow, factories.offer(email="NADIA@example.org"), clock)

    with pytest.raises(intake.AlreadyRegistered) as refused:
        intake.register_volunteer(uow, factories.offer(email=" nadia@Example.org"), clock)

    assert refused.value.volunteer_id == first.id
    assert refused.value.field == "email"
    assert [v.id for v in uow.volunteers.where()] == [first.id]  # capacity is not doubled
    assert uow.kinds(volunteer_id=first.id) == ["volunteer.registered"]


def test_someone_who_withdrew_may_sign_up_again_but_not_come_back_twice() -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    old = intake.register_volunteer(uow, factories.offer(email="nadia@example.org"), clock)
    intake.update_volunteer(uow, old.id, {"status": "withdrawn"}, clock)

    new = intake.register_volunteer(uow, factories.offer(email="Nadia@example.org"), clock)

    assert new.id != old.id
    # Bringing the old offer back now would make two live offers under one address.
    with pytest.raises(Conflict):
        intake.update_volunteer(uow, old.id, {"status": "active"}, clock)
    assert uow.volunteers.get(old.id).status == "withdrawn"


def test_a_link_is_found_whatever_the_case_of_the_address() -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    volunteer = intake.register_volunteer(uow, factories.offer(email="Nadia@Example.org"), clock)
    request = intake.submit_request(
        uow, factories.team_request(contact={"name": "Sam", "email": "Sam.Lead@NHS.example"}), clock
    )

    assert [s.subject_id for s in links.subjects_for_email(uow, "NADIA@example.ORG ")] == [volunteer.id]
    assert [s.subject_id for s in links.subjects_for_email(uow, "sam.lead@nhs.example")] == [request.id]


def test_erasure_keeps_no_form_of_the_address() -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    uow.access_tokens = FakeRepository()  # type: ignore[assignment]
    volunteer = intake.register_volunteer(uow, factories.offer(email="Nadia@Example.org"), clock)

    volunteer_self.erase(uow, volunteer.id, clock)

    assert "nadia" not in f"{volunteer.email} {volunteer.email_key}"
    assert links.subjects_for_email(uow, "nadia@example.org") == []
