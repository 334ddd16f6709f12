"""A volunteer's self-service behind the pages: pause until a date, resume, export, erase."""

from __future__ import annotations

from datetime import timedelta

import pytest

from matcher.domain import ERASED_NAME, Volunteer
from matcher.errors import Invalid
from matcher.services import volunteer_self
from tests.fakes import FakeClock, FakeRepository, FakeUnitOfWork


def setup() -> tuple[FakeUnitOfWork, FakeClock, Volunteer]:
    u, clock = FakeUnitOfWork(), FakeClock()
    u.access_tokens = FakeRepository()  # type: ignore[attr-defined]
    v = Volunteer(
        name="Amina Begum", email="amina@example.org", kind="carer", home_area="tower_hamlets",
        roles=["focus_group"], modes=["video"], availability=[{"day": "tue", "start": "09:00", "end": "12:00"}],
        max_commitments=1, consent_version="2026-01", consent_given_at=clock.now(), experience=["carer_experience"],
        access_needs="step-free access", created_at=clock.now(),
    )  # fmt: skip
    u.volunteers.add(v)
    return u, clock, v


def test_a_pause_ends_by_itself_on_its_date() -> None:
    u, clock, v = setup()
    with pytest.raises(Invalid):
        volunteer_self.pause_until(u, v.id, clock.now().date(), clock)
    volunteer_self.pause_until(u, v.id, clock.now().date() + timedelta(days=10), clock)
    assert v.status == "paused"
    assert volunteer_self.overview(u, v.id, clock).paused_until == clock.now().date() + timedelta(days=10)
    assert volunteer_self.resume_due(u, clock) == []
    clock.advance(days=10)
    assert volunteer_self.resume_due(u, clock) == [v.id]
    assert v.status == "active"
    assert "volunteer.updated" in u.kinds(volunteer_id=v.id)  # rescoring follows


def test_export_has_everything_and_erasure_keeps_only_the_counts() -> None:
    u, clock, v = setup()
    data = volunteer_self.export(u, v.id, clock)
    assert data["offer"]["email"] == "amina@example.org" and data["offer"]["access_needs"] == "step-free access"
    assert [e["what"] for e in data["timeline"]] == []
    volunteer_self.erase(u, v.id, clock)
    assert v.status == "withdrawn" and v.name == ERASED_NAME and v.erased_at == clock.now()
    assert "amina" not in v.email and v.access_needs is None and v.experience == [] and v.availability == []
    assert (v.kind, v.home_area, v.roles) == ("carer", "tower_hamlets", ["focus_group"])
    assert u.kinds(volunteer_id=v.id)[-1] == "volunteer.erased"
