"""Every domain object has a factory, and what it builds is valid (passes the rules, the moves, the store)."""

from __future__ import annotations

from matcher.config import MatchingConfig
from matcher.domain import MatchStatus
from matcher.rules import Standing, screen
from tests import factories
from tests.fakes import FakeUnitOfWork


def test_a_factory_volunteer_fits_a_factory_request() -> None:
    volunteer, request = factories.volunteer(), factories.request()
    assert screen(volunteer, request, request.roles[0]["role"], Standing(), MatchingConfig()) == []
    assert volunteer.email_key == volunteer.email.lower()


def test_factory_objects_keep_their_links_and_obey_their_moves() -> None:
    volunteer, request = factories.volunteer(), factories.request()
    match = factories.match(volunteer, request)
    assert (match.volunteer_id, match.team_request_id) == (volunteer.id, request.id)
    lead = factories.coordinator()
    match.approve(lead.id, factories.AT)
    assert (match.status, match.decided_by) == (MatchStatus.APPROVED, lead.id)
    chat = factories.follow_up(match, sequence=2)
    assert chat.match_id == match.id and chat.sequence == 2
    assert lead.covers(request.area)


def test_factory_objects_are_stored_and_found_again() -> None:
    uow = FakeUnitOfWork()
    volunteer = factories.volunteer(name="Amina Begum")
    uow.volunteers.add(volunteer)
    uow.coordinators.add(factories.coordinator())
    assert uow.volunteers.get(volunteer.id).name == "Amina Begum"
    assert factories.event(volunteer_id=volunteer.id).kind == "request.submitted"
    assert factories.delivery().status == "claimed"
    assert factories.term(code="falls").code == "falls"
    assert factories.access_token().expires_at > factories.access_token().created_at
