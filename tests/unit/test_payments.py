"""Involvement payments on fakes: caps hold lines back, approvals re-check them, a rate change
never alters a line, an export is repeatable and its totals are the sum of its lines.
Property tests (hypothesis) for the four properties the issue names."""

from __future__ import annotations

import contextlib
import csv
import io
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.domain import AuditAction, Coordinator, IllegalMove
from matcher.errors import Invalid, NotFound
from matcher.payments import (
    ActivityType,
    FinanceExport,
    HoldReason,
    LineStatus,
    PaymentLine,
    RateBasis,
    amount_for,
    finance_csv,
    four_weeks_of,
    pounds,
    tax_year_of,
    week_of,
)
from matcher.services import payments
from tests import factories
from tests.fakes import FakeClock, FakeUnitOfWork

SECOND_OVER = 10_000
DAY = date(2026, 3, 2)  # the fake clock's Monday


def setup(uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator, **caps: int) -> str:
    v = factories.volunteer()
    uow.volunteers.add(v)
    payments.set_rate(
        uow,
        {"activity_type": ActivityType.FOCUS_GROUP, "pence": 2000, "basis": RateBasis.HOUR,
         "effective_from": date(2025, 1, 1)},
        coordinator, clock,
    )  # fmt: skip
    if caps:
        payments.set_account(uow, v.id, caps, clock, coordinator)
    return v.id


def took_part(uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator, vid: str, on: date, minutes: int = 120):  # type: ignore[no-untyped-def]
    _, line = payments.record_activity(
        uow, {"volunteer_id": vid, "on": on, "minutes": minutes, "activity_type": ActivityType.FOCUS_GROUP},
        clock, coordinator,
    )  # fmt: skip
    return line


# ---- the scenario in the issue ---------------------------------------------------------------


def test_third_line_over_a_four_weekly_cap_is_held_with_the_excess(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator
) -> None:
    vid = setup(uow, clock, coordinator, cap_four_weeks_pence=10_000)  # £100 per 4 weeks
    lines = [took_part(uow, clock, coordinator, vid, DAY - timedelta(days=d)) for d in (3, 2, 1)]  # £40 each
    assert [line.status for line in lines] == [LineStatus.PENDING, LineStatus.PENDING, LineStatus.HELD]
    assert lines[2].hold_reason == HoldReason.CAP_FOUR_WEEKS
    assert lines[2].over_by_pence == 2000  # £120 would be £20 over


def test_approval_rechecks_caps_against_what_is_approved_and_holds_with_words(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator
) -> None:
    vid = setup(uow, clock, coordinator)
    first = took_part(uow, clock, coordinator, vid, DAY - timedelta(days=1))
    second = took_part(uow, clock, coordinator, vid, DAY - timedelta(days=1))
    payments.approve(uow, first.id, coordinator, clock, SECOND_OVER)
    # The person lowers their weekly cap after the lines were made.
    payments.set_account(uow, vid, {"cap_week_pence": 5000}, clock)
    with pytest.raises(payments.OverCap, match="weekly cap by £30.00"):
        payments.approve(uow, second.id, coordinator, clock, SECOND_OVER)
    assert second.status == LineStatus.HELD and second.over_by_pence == 3000


def test_a_line_over_the_threshold_needs_a_second_coordinator(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator
) -> None:
    vid = setup(uow, clock, coordinator)
    line = took_part(uow, clock, coordinator, vid, DAY - timedelta(days=1), minutes=600)  # £200
    payments.approve(uow, line.id, coordinator, clock, SECOND_OVER)
    assert line.status == LineStatus.AWAITING_SECOND
    with pytest.raises(IllegalMove, match="second coordinator"):
        payments.approve(uow, line.id, coordinator, clock, SECOND_OVER)
    other = Coordinator(email="second@nhs.example", password_hash="x", areas=["tower_hamlets"])
    payments.approve(uow, line.id, other, clock, SECOND_OVER)
    assert line.status == LineStatus.APPROVED and line.approved_by == other.id


def test_other_areas_coordinators_see_and_touch_nothing(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator
) -> None:
    vid = setup(uow, clock, coordinator)
    line = took_part(uow, clock, coordinator, vid, DAY - timedelta(days=1))
    elsewhere = Coordinator(email="far@nhs.example", password_hash="x", areas=["hackney"])
    assert payments.claims(uow, elsewhere) == []
    with pytest.raises(NotFound):
        payments.approve(uow, line.id, elsewhere, clock, SECOND_OVER)
    with pytest.raises(NotFound):
        took_part(uow, clock, elsewhere, vid, DAY)


def test_no_rate_for_the_type_is_a_422_naming_it_and_nothing_is_stored(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator
) -> None:
    vid = setup(uow, clock, coordinator)
    with pytest.raises(Invalid) as refused:
        payments.record_activity(
            uow, {"volunteer_id": vid, "on": DAY, "minutes": 60, "activity_type": ActivityType.TALK}, clock, coordinator
        )
    assert "activity_type" in refused.value.errors
    assert uow.activities.rows == {} and uow.payment_lines.rows == {}


def test_unpaid_volunteers_activities_make_no_line(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator
) -> None:
    vid = setup(uow, clock, coordinator)
    payments.set_account(uow, vid, {"preference": "unpaid"}, clock)
    assert took_part(uow, clock, coordinator, vid, DAY) is None
    assert len(uow.activities.rows) == 1


def test_export_holds_each_line_once_and_repeats_identically(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator
) -> None:
    vid = setup(uow, clock, coordinator)
    lines = [took_part(uow, clock, coordinator, vid, date(2026, 2, d)) for d in (10, 11)]
    for line in lines:
        payments.approve(uow, line.id, coordinator, clock, SECOND_OVER)
    export, new = payments.export_month(uow, "2026-02", coordinator, clock)
    assert new and export.line_count == 2 and export.total_pence == 8000
    _, first = payments.export_file(uow, export.id, coordinator, clock)
    again, new_again = payments.export_month(uow, "2026-02", coordinator, clock)
    assert not new_again and again.id == export.id
    assert payments.export_file(uow, again.id, coordinator, clock)[1] == first
    late = took_part(uow, clock, coordinator, vid, date(2026, 2, 12))
    payments.approve(uow, late.id, coordinator, clock, SECOND_OVER)
    newer, new = payments.export_month(uow, "2026-02", coordinator, clock)
    assert new and newer.line_count == 1  # only the new line
    actions = [e.action for e in uow.audit.rows.values()]
    assert actions.count(AuditAction.FINANCE_EXPORTED) == 2


def test_nothing_to_export_names_the_month(uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator) -> None:
    with pytest.raises(Invalid) as refused:
        payments.export_month(uow, "2026-02", coordinator, clock)
    assert "month" in refused.value.errors


def test_erasure_keeps_approved_lines_without_the_name_and_drops_the_rest(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator
) -> None:
    vid = setup(uow, clock, coordinator, cap_week_pence=100_000)
    paid = took_part(uow, clock, coordinator, vid, date(2026, 2, 10))
    payments.approve(uow, paid.id, coordinator, clock, SECOND_OVER)
    export, _ = payments.export_month(uow, "2026-02", coordinator, clock)
    name = uow.volunteers.get(vid).name  # type: ignore[union-attr]
    assert name.encode() in payments.export_file(uow, export.id, coordinator, clock)[1]
    took_part(uow, clock, coordinator, vid, DAY)  # pending: goes
    payments.forget(uow, vid)
    assert list(uow.payment_lines.rows) == [paid.id]
    assert uow.payment_accounts.get(vid) is None
    body = payments.export_file(uow, export.id, coordinator, clock)[1]
    assert name.encode() not in body and b",4000,40.00" in body  # the amount stays for finance


# ---- periods and money ------------------------------------------------------------------------


def test_periods() -> None:
    assert week_of(date(2026, 3, 4)) == (date(2026, 3, 2), date(2026, 3, 8))
    assert tax_year_of(date(2026, 4, 5)) == (date(2025, 4, 6), date(2026, 4, 5))
    assert tax_year_of(date(2026, 4, 6)) == (date(2026, 4, 6), date(2027, 4, 5))
    assert four_weeks_of(date(2024, 1, 29)) == (date(2024, 1, 29), date(2024, 2, 25))
    assert four_weeks_of(date(2023, 12, 31)) == (date(2023, 12, 4), date(2023, 12, 31))


def test_rounding_half_up_to_the_penny_and_pounds_from_integers() -> None:
    assert amount_for(1001, RateBasis.HOUR, 30) == 501  # 500.5 -> 501
    assert amount_for(1000, RateBasis.HOUR, 1) == 17  # 16.67 -> 17
    assert amount_for(2500, RateBasis.SESSION, 400) == 2500
    assert pounds(12345) == "123.45" and pounds(5) == "0.05" and pounds(-5) == "-0.05"


# ---- properties (hypothesis) -----------------------------------------------------------------

days = st.integers(min_value=0, max_value=120).map(lambda n: date(2025, 11, 1) + timedelta(days=n))
activities_st = st.lists(st.tuples(days, st.integers(min_value=15, max_value=480)), min_size=1, max_size=12)
caps_st = st.fixed_dictionaries(
    {},
    optional={
        "cap_week_pence": st.integers(min_value=0, max_value=20_000),
        "cap_four_weeks_pence": st.integers(min_value=0, max_value=40_000),
        "cap_tax_year_pence": st.integers(min_value=0, max_value=100_000),
    },
)


def _world() -> tuple[FakeUnitOfWork, FakeClock, Coordinator]:
    uow, clock = FakeUnitOfWork(), FakeClock()
    c = Coordinator(email="lead@nhs.example", password_hash="x", areas=["tower_hamlets"])
    uow.coordinators.add(c)
    return uow, clock, c


@settings(max_examples=60, deadline=None)
@given(caps=caps_st, done=activities_st, order=st.randoms(use_true_random=False))
def test_no_cap_is_ever_exceeded(caps: dict[str, int], done: list[tuple[date, int]], order) -> None:  # type: ignore[no-untyped-def]
    uow, clock, c = _world()
    vid = setup(uow, clock, c, **caps)
    lines = [took_part(uow, clock, c, vid, on, minutes) for on, minutes in done]
    order.shuffle(lines)
    for line in lines:
        with contextlib.suppress(payments.OverCap):  # held instead: what the property is about
            payments.approve(uow, line.id, c, clock, second_over=10**9)
    account = payments.account_of(uow, vid)
    approved = [line for line in uow.payment_lines.rows.values() if line.status == LineStatus.APPROVED]
    for line in approved:
        for reason, cap in account.caps():
            start, end = account.period(reason, line.on)
            assert sum(other.pence for other in approved if start <= other.on <= end) <= cap


line_st = st.builds(
    PaymentLine,
    volunteer_id=st.sampled_from(["v1", "v2", "v3"]),
    area=st.just("tower_hamlets"),
    kind=st.sampled_from(["activity", "travel"]),
    on=days,
    pence=st.integers(min_value=0, max_value=1_000_000),
    method=st.sampled_from(["paid", "voucher"]),
    payee_name=st.one_of(st.none(), st.text(max_size=30)),
    minutes=st.one_of(st.none(), st.integers(min_value=1, max_value=600)),
)


@settings(max_examples=80, deadline=None)
@given(lines=st.lists(line_st, max_size=20), order=st.randoms(use_true_random=False))
def test_an_export_repeats_identically_and_totals_equal_the_sum_of_lines(lines: list[PaymentLine], order) -> None:  # type: ignore[no-untyped-def]
    export = FinanceExport(month="2026-02", areas=["tower_hamlets"], made_by="c", made_at=factories.AT, id="e1")
    body = finance_csv(export, lines)
    shuffled = list(lines)
    order.shuffle(shuffled)
    assert finance_csv(export, shuffled) == body  # same lines, any order: the same bytes
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))
    *items, total = rows
    assert total["line_id"] == "TOTAL"
    assert int(total["amount_pence"]) == sum(int(r["amount_pence"]) for r in items) == sum(x.pence for x in lines)
    assert total["amount_gbp"] == pounds(sum(x.pence for x in lines))


@settings(max_examples=40, deadline=None)
@given(
    pence=st.integers(min_value=1, max_value=50_000),
    new_pence=st.integers(min_value=1, max_value=50_000),
    back=st.integers(min_value=0, max_value=60),
)
def test_a_rate_change_never_alters_an_approved_line(pence: int, new_pence: int, back: int) -> None:
    uow, clock, c = _world()
    vid = setup(uow, clock, c)
    line = took_part(uow, clock, c, vid, DAY - timedelta(days=1))
    payments.approve(uow, line.id, c, clock, second_over=10**9)
    before = (line.pence, line.rate_id, line.rate_pence)
    # A new rate, even one dated back before the activity, applies to new lines only.
    payments.set_rate(
        uow,
        {"activity_type": ActivityType.FOCUS_GROUP, "pence": new_pence, "basis": RateBasis.HOUR,
         "effective_from": DAY - timedelta(days=back + 2)},
        c, clock,
    )  # fmt: skip
    assert (line.pence, line.rate_id, line.rate_pence) == before
    assert line.status == LineStatus.APPROVED


# ---- where an activity comes from ---------------------------------------------------------------


def test_an_activity_from_session_attendance_takes_the_sessions_date_and_length(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator
) -> None:
    from datetime import datetime

    from matcher.programme_sessions import Booking, ProgrammeSession

    vid = setup(uow, clock, coordinator)
    starts = datetime(2026, 2, 20, 10, 0, tzinfo=clock.now().tzinfo)
    session = ProgrammeSession(
        kind="qi_introduction", area="tower_hamlets", starts_at=starts, ends_at=starts + timedelta(minutes=90),
        capacity=5, created_by=coordinator.id,
    )  # fmt: skip
    uow.programme_sessions.add(session)
    booking = Booking(session_id=session.id, volunteer_id=vid)
    uow.bookings.add(booking)
    fields = {"volunteer_id": vid, "activity_type": ActivityType.FOCUS_GROUP, "session_id": session.id}
    with pytest.raises(Invalid) as refused:  # attendance not marked yet
        payments.record_activity(uow, fields, clock, coordinator)
    assert "session_id" in refused.value.errors
    booking.attended = True
    activity, line = payments.record_activity(uow, fields, clock, coordinator)
    assert (activity.source, activity.on, activity.minutes) == ("session", date(2026, 2, 20), 90)
    assert line is not None and line.pence == 3000


def test_an_activity_from_a_follow_up_must_be_one_of_the_persons_matches(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator
) -> None:
    vid = setup(uow, clock, coordinator)
    mine = factories.match(volunteer_id=vid)
    someone_elses = factories.match()
    for m in (mine, someone_elses):
        uow.matches.add(m)
    ours, theirs = factories.follow_up(of=mine), factories.follow_up(of=someone_elses)
    uow.follow_ups.add(ours)
    uow.follow_ups.add(theirs)
    fields = {"volunteer_id": vid, "activity_type": ActivityType.FOCUS_GROUP, "on": DAY, "minutes": 60}
    with pytest.raises(Invalid) as refused:
        payments.record_activity(uow, {**fields, "follow_up_id": theirs.id}, clock, coordinator)
    assert "follow_up_id" in refused.value.errors
    activity, _ = payments.record_activity(uow, {**fields, "follow_up_id": ours.id}, clock, coordinator)
    assert (activity.source, activity.match_id) == ("follow_up", mine.id)
