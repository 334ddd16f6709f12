"""Payments on real PostgreSQL: two approvals of one person's lines at once never take them over
a cap, two exports of one month at once hold each line once, and the issue's scenario."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import pytest

from matcher.bootstrap import Services
from matcher.domain import Coordinator
from matcher.errors import Invalid
from matcher.payments import ActivityType, LineStatus, RateBasis
from matcher.services import intake, payments
from tests import factories
from tests.integration.test_races import at_once

pytestmark = pytest.mark.integration
SECOND_OVER = 10**9


def coordinators(services: Services, n: int) -> list[Coordinator]:
    made = [
        Coordinator(
            email=f"c{i}@nhs.example", password_hash="-", areas=["tower_hamlets"], created_at=services.clock.now()
        )
        for i in range(n)
    ]
    with services.uow() as uow:
        for c in made:
            uow.coordinators.add(c)
        uow.commit()
    return made


def person_with_lines(services: Services, c: Coordinator, caps: dict[str, int], days: list[date]) -> tuple[str, list]:  # type: ignore[type-arg]
    clock = services.clock
    v = intake.register_volunteer(services.uow(), factories.offer(), clock)
    with contextlib.suppress(Invalid):  # set once: the same rate for everyone in the test
        talk = {"activity_type": ActivityType.TALK, "pence": 5000, "basis": RateBasis.SESSION}
        payments.set_rate(services.uow(), {**talk, "effective_from": date(2020, 1, 1)}, c, clock)
    lines = []
    for day in days:
        _, line = payments.record_activity(
            services.uow(),
            {"volunteer_id": v.id, "on": day, "minutes": 60, "activity_type": ActivityType.TALK},
            clock,
            c,
        )
        lines.append(line)
    payments.set_account(services.uow(), v.id, caps, clock, c)  # the cap comes after the lines were made
    return v.id, lines


def test_two_approvals_at_once_never_take_a_person_over_their_cap(services: Services, clean: None) -> None:
    a, b = coordinators(services, 2)
    monday = services.clock.now().date() - timedelta(days=services.clock.now().weekday() + 7)
    for _ in range(4):
        vid, (one, two) = person_with_lines(services, a, {"cap_week_pence": 8000}, [monday, monday + timedelta(days=1)])
        outcomes = at_once(
            lambda one=one: payments.approve(services.uow(), one.id, a, services.clock, SECOND_OVER),
            lambda two=two: payments.approve(services.uow(), two.id, b, services.clock, SECOND_OVER),
        )
        refused = [o for o in outcomes if isinstance(o, Exception)]
        assert len(refused) == 1 and isinstance(refused[0], payments.OverCap), outcomes
        assert "weekly cap by £20.00" in refused[0].message
        with services.uow() as uow:
            statuses = sorted(line.status for line in uow.payment_lines.where(volunteer_id=vid))
        assert statuses == [LineStatus.APPROVED, LineStatus.HELD]


def test_two_exports_of_a_month_at_once_hold_each_line_once(services: Services, clean: None) -> None:
    a, b = coordinators(services, 2)
    first_this = services.clock.now().date().replace(day=1)
    start = (first_this - timedelta(days=1)).replace(day=1)
    month = f"{start.year:04d}-{start.month:02d}"
    _, lines = person_with_lines(services, a, {}, [start + timedelta(days=d) for d in range(4)])
    for line in lines:
        payments.approve(services.uow(), line.id, a, services.clock, SECOND_OVER)
    outcomes = at_once(
        lambda: payments.export_month(services.uow(), month, a, services.clock),
        lambda: payments.export_month(services.uow(), month, b, services.clock),
    )
    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    (one, new_one), (two, new_two) = outcomes
    assert sorted([new_one, new_two]) == [False, True] and one.id == two.id
    with services.uow() as uow:
        assert {line.export_id for line in uow.payment_lines.where(id=[x.id for x in lines])} == {one.id}
        assert len(uow.finance_exports.where()) == 1
    files = {payments.export_file(services.uow(), one.id, c, services.clock)[1] for c in (a, b)}
    assert len(files) == 1
