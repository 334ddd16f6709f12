"""Editing the shared vocabularies: one use case, on record, admins only."""

from __future__ import annotations

import pytest

from matcher.domain import Coordinator
from matcher.errors import Forbidden, Invalid, NotFound
from matcher.services import vocabularies
from tests.fakes import FakeClock, FakeUnitOfWork

ADMIN = Coordinator("admin@nhs.example", "x", ["newham"], admin=True)
LEAD = Coordinator("lead@nhs.example", "x", ["newham"])


def codes(u: FakeUnitOfWork, vocabulary: str, active: bool = True) -> list[str]:
    return [t.code for t in u.terms.where(vocabulary=vocabulary, active=active, order_by="position")]


def test_an_admin_adds_relabels_and_retires_a_code_and_each_change_is_on_record() -> None:
    u, clock = FakeUnitOfWork(), FakeClock()
    vocabularies.set_term(u, ADMIN, "roles", "peer_support", "Peer support worker", True, clock)
    assert codes(u, "roles")[-1] == "peer_support"  # a new code goes at the end of the list
    vocabularies.set_term(u, ADMIN, "roles", "peer_support", "Peer supporter", False, clock)
    assert "peer_support" in codes(u, "roles", active=False)
    assert [e.data for e in u.events.where(kind="vocabulary.term_set", order_by="id")] == [
        {"vocabulary": "roles", "code": "peer_support", "active": True},
        {"vocabulary": "roles", "code": "peer_support", "active": False},
    ]


def test_refusals_change_nothing() -> None:
    u, clock = FakeUnitOfWork(), FakeClock()
    before = codes(u, "roles")
    with pytest.raises(Forbidden):
        vocabularies.set_term(u, LEAD, "roles", "peer_support", "Peer support worker", True, clock)
    with pytest.raises(NotFound):
        vocabularies.set_term(u, ADMIN, "hobbies", "chess", "Chess", True, clock)
    with pytest.raises(Invalid) as bad:
        vocabularies.set_term(u, ADMIN, "roles", "Peer Support", "Peer support worker", True, clock)
    assert "code" in bad.value.errors
    assert codes(u, "roles") == before and not u.events.rows
