"""Involvement payments: preferences and caps, activities, rates, payable lines, finance exports.

Money is integer pence everywhere (never a float). The rules a line obeys are pure
functions here, so the property tests exercise exactly what the use cases run:

- an hourly amount is ``rate * minutes / 60`` rounded half up to a whole penny
  (``amount_for``); a per-session rate is paid whole;
- a person's caps (per week, per 4 weeks, per tax year) are data they or a coordinator
  enter; a line that would take the lines counted in one of its periods over a cap is
  held, and the largest excess is kept on it (``cap_excess``);
- a line keeps the rate it was made with (``rate_pence``/``rate_basis``), so a later
  rate never alters it;
- an export's CSV is a function of its lines alone (``finance_csv``), so repeating it
  gives the same bytes.

Periods (see docs/payments.md): a week is Monday to Sunday; 4-week periods are
consecutive 28-day blocks counted from the person's ``four_weeks_from`` day (default
Monday 1 January 2024); the UK tax year runs 6 April to 5 April.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from matcher.domain import IllegalMove, _move, new_id

FOUR_WEEKS_ANCHOR = date(2024, 1, 1)  # a Monday: 4-week blocks start here unless a person says otherwise


class Preference:
    PAID = "paid"
    VOUCHER = "voucher"
    UNPAID = "unpaid"  # volunteering unpaid: activities are recorded, no line is made
    ALL = (PAID, VOUCHER, UNPAID)
    WORDS = {PAID: "Paid", VOUCHER: "Vouchers", UNPAID: "Volunteering unpaid"}


class ActivityType:
    PROJECT_MEETING = "project_meeting"
    FOCUS_GROUP = "focus_group"
    COFACILITATED_TRAINING = "cofacilitated_training"
    TALK = "talk"
    ALL = (PROJECT_MEETING, FOCUS_GROUP, COFACILITATED_TRAINING, TALK)
    WORDS = {
        PROJECT_MEETING: "Project meeting",
        FOCUS_GROUP: "Focus group",
        COFACILITATED_TRAINING: "Co-facilitated training",
        TALK: "Talk",
    }


class ActivitySource:
    COORDINATOR = "coordinator"  # entered by a coordinator
    FOLLOW_UP = "follow_up"  # from a match's follow-up
    SESSION = "session"  # from session attendance
    TEAM_LINK = "team_link"  # a team confirmed it by its private link
    ALL = (COORDINATOR, FOLLOW_UP, SESSION, TEAM_LINK)


class RateBasis:
    HOUR = "hour"
    SESSION = "session"
    ALL = (HOUR, SESSION)


class LineKind:
    ACTIVITY = "activity"
    TRAVEL = "travel"  # expenses: reimbursed, not earnings, so never counted against caps
    ALL = (ACTIVITY, TRAVEL)


class LineStatus:
    PENDING = "pending"  # waiting for a coordinator's approval
    HELD = "held"  # held back: over a cap, or by a coordinator
    AWAITING_SECOND = "awaiting_second"  # approved once; over the threshold, so a second coordinator must too
    APPROVED = "approved"  # payable; exported once (``export_id``)
    ALL = (PENDING, HELD, AWAITING_SECOND, APPROVED)
    # What a new line's cap check counts: everything on its way to being paid.
    COUNTED = (PENDING, AWAITING_SECOND, APPROVED)
    MOVES = {
        PENDING: {HELD, AWAITING_SECOND, APPROVED},
        HELD: {AWAITING_SECOND, APPROVED},
        AWAITING_SECOND: {APPROVED, HELD},
        APPROVED: set(),
    }
    WORDS = {
        PENDING: "Waiting for approval",
        HELD: "Held",
        AWAITING_SECOND: "Waiting for a second approval",
        APPROVED: "Approved",
    }


class HoldReason:
    CAP_WEEK = "cap_week"
    CAP_FOUR_WEEKS = "cap_four_weeks"
    CAP_TAX_YEAR = "cap_tax_year"
    COORDINATOR = "coordinator"
    ALL = (CAP_WEEK, CAP_FOUR_WEEKS, CAP_TAX_YEAR, COORDINATOR)
    WORDS = {
        CAP_WEEK: "over the weekly cap",
        CAP_FOUR_WEEKS: "over the 4-weekly cap",
        CAP_TAX_YEAR: "over the tax-year cap",
        COORDINATOR: "held by a coordinator",
    }


# ---- periods --------------------------------------------------------------------------------


def week_of(day: date) -> tuple[date, date]:
    start = day - timedelta(days=day.weekday())
    return start, start + timedelta(days=6)


def four_weeks_of(day: date, anchor: date | None = None) -> tuple[date, date]:
    anchor = anchor or FOUR_WEEKS_ANCHOR
    start = anchor + timedelta(days=((day - anchor).days // 28) * 28)  # floor division: before the anchor too
    return start, start + timedelta(days=27)


def tax_year_of(day: date) -> tuple[date, date]:
    """The UK tax year holding ``day``: 6 April to the next 5 April."""
    first = day.year if (day.month, day.day) >= (4, 6) else day.year - 1
    return date(first, 4, 6), date(first + 1, 4, 5)


def tax_year_label(day: date) -> str:
    start, end = tax_year_of(day)
    return f"{start.year}-{str(end.year)[-2:]}"


# ---- money ---------------------------------------------------------------------------------


def amount_for(rate_pence: int, basis: str, minutes: int) -> int:
    """An hourly rate pays ``rate * minutes / 60``, rounded half up to a whole penny; a session rate pays once."""
    if basis == RateBasis.SESSION:
        return rate_pence
    return (rate_pence * minutes * 2 + 60) // 120  # integer half-up rounding: no float ever touches money


def pounds(pence: int) -> str:
    """12345 -> "123.45" (and -5 -> "-0.05"), from integers only."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}{whole}.{part:02d}"


# ---- records -------------------------------------------------------------------------------


@dataclass(eq=False)
class PaymentAccount:
    """One per volunteer: how they want to be paid, and the caps they set. Its row is the
    lock every cap decision for the person takes (making a line, approving one)."""

    id: str  # the volunteer's id: one account per person
    preference: str = Preference.PAID
    cap_week_pence: int | None = None
    cap_four_weeks_pence: int | None = None
    cap_tax_year_pence: int | None = None
    four_weeks_from: date | None = None  # the first day of one of their 4-week periods
    updated_at: datetime | None = None
    updated_by: str | None = None  # a coordinator's id, or "volunteer"

    def caps(self) -> list[tuple[str, int]]:
        return [
            (reason, cap)
            for reason, cap in (
                (HoldReason.CAP_WEEK, self.cap_week_pence),
                (HoldReason.CAP_FOUR_WEEKS, self.cap_four_weeks_pence),
                (HoldReason.CAP_TAX_YEAR, self.cap_tax_year_pence),
            )
            if cap is not None
        ]

    def period(self, reason: str, day: date) -> tuple[date, date]:
        if reason == HoldReason.CAP_WEEK:
            return week_of(day)
        if reason == HoldReason.CAP_FOUR_WEEKS:
            return four_weeks_of(day, self.four_weeks_from)
        return tax_year_of(day)


@dataclass(eq=False)
class Rate:
    """What one activity type pays from ``effective_from`` on (until a later rate for the type)."""

    activity_type: str
    pence: int
    basis: str
    effective_from: date
    created_by: str
    id: str = field(default_factory=new_id)
    created_at: datetime | None = None


def rate_on(rates: Iterable[Rate], activity_type: str, day: date) -> Rate | None:
    """The rate in force for the type on that day: the latest effective on or before it."""
    fitting = [r for r in rates if r.activity_type == activity_type and r.effective_from <= day]
    return max(fitting, key=lambda r: (r.effective_from, r.created_at or datetime.min, r.id), default=None)


@dataclass(eq=False)
class Activity:
    """One time a volunteer took part."""

    volunteer_id: str
    area: str  # the volunteer's home area when recorded: whose coordinators see it
    on: date
    minutes: int
    activity_type: str
    source: str
    recorded_by: str  # a coordinator's id, or "team" for a team's private link
    id: str = field(default_factory=new_id)
    match_id: str | None = None
    session_id: str | None = None
    created_at: datetime | None = None


@dataclass(eq=False)
class PaymentLine:
    """A payable line: an activity at its rate, or a travel expense. Amounts never change."""

    volunteer_id: str
    area: str
    kind: str
    on: date
    pence: int
    method: str  # Preference.PAID or VOUCHER at the time the line was made
    id: str = field(default_factory=new_id)
    activity_id: str | None = None
    activity_type: str | None = None
    minutes: int | None = None
    rate_id: str | None = None
    rate_pence: int | None = None
    rate_basis: str | None = None
    description: str | None = None  # travel: what the journey was (cleared on erasure)
    receipt_held: bool | None = None
    status: str = LineStatus.PENDING
    hold_reason: str | None = None
    over_by_pence: int | None = None  # held over a cap: by how much the line would exceed it
    first_approved_by: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    export_id: str | None = None
    payee_name: str | None = None  # the name finance pays, copied when exported (blanked on erasure)
    created_at: datetime | None = None

    @property
    def counts_against_caps(self) -> bool:
        return self.kind == LineKind.ACTIVITY

    def hold(self, reason: str, over_by: int | None) -> None:
        _move(self, "payment line", LineStatus.MOVES, LineStatus.HELD, "held")
        self.hold_reason, self.over_by_pence = reason, over_by
        self.first_approved_by = None

    def approve(self, coordinator_id: str, now: datetime, second_over: int) -> None:
        """One approval; over ``second_over`` pence a second, different coordinator must approve too."""
        if self.status == LineStatus.AWAITING_SECOND:
            if coordinator_id == self.first_approved_by:
                raise IllegalMove("this line needs a second coordinator's approval, not yours again")
            target = LineStatus.APPROVED
        else:
            target = LineStatus.AWAITING_SECOND if self.pence > second_over else LineStatus.APPROVED
        _move(self, "payment line", LineStatus.MOVES, target, "approved")
        self.hold_reason, self.over_by_pence = None, None
        if target == LineStatus.AWAITING_SECOND:
            self.first_approved_by = coordinator_id
        else:
            self.approved_by, self.approved_at = coordinator_id, now


@dataclass(eq=False)
class FinanceExport:
    """One export: who made it, when, for which month and areas. Its lines carry its id."""

    month: str  # "YYYY-MM"
    areas: list[str]
    made_by: str
    made_at: datetime
    id: str = field(default_factory=new_id)
    line_count: int = 0
    total_pence: int = 0


def cap_excess(
    account: PaymentAccount, day: date, pence: int, counted: Iterable[PaymentLine]
) -> tuple[str, int] | None:
    """The cap a new line of ``pence`` on ``day`` would break, and by how much (the largest
    excess of any of the person's caps); None when it fits them all. ``counted``: the lines
    already counting against the caps (other lines of the person)."""
    counted = [line for line in counted if line.counts_against_caps]
    worst: tuple[str, int] | None = None
    for reason, cap in account.caps():
        start, end = account.period(reason, day)
        so_far = sum(line.pence for line in counted if start <= line.on <= end)
        over = so_far + pence - cap
        if over > 0 and (worst is None or over > worst[1]):
            worst = (reason, over)
    return worst


# ---- the finance CSV ------------------------------------------------------------------------

CSV_COLUMNS = (
    "export_id",
    "line_id",
    "payee_ref",
    "payee_name",
    "area",
    "date",
    "kind",
    "activity_type",
    "minutes",
    "rate_pence",
    "rate_basis",
    "method",
    "receipt_held",
    "amount_pence",
    "amount_gbp",
)


def finance_csv(export: FinanceExport, lines: Iterable[PaymentLine]) -> bytes:
    """The export's file: one row per line in date then id order, then a totals row.

    A function of the export and its lines only (no clock, no lookups), so the same
    export always gives the same bytes. UTF-8, CRLF line ends (RFC 4180).
    """
    ordered = sorted(lines, key=lambda line: (line.on, line.id))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in ordered:
        writer.writerow(
            (
                export.id,
                line.id,
                line.volunteer_id,
                _safe(line.payee_name or ""),
                line.area,
                line.on.isoformat(),
                line.kind,
                line.activity_type or "",
                "" if line.minutes is None else line.minutes,
                "" if line.rate_pence is None else line.rate_pence,
                line.rate_basis or "",
                line.method,
                "" if line.receipt_held is None else ("yes" if line.receipt_held else "no"),
                line.pence,
                pounds(line.pence),
            )
        )
    total = sum(line.pence for line in ordered)
    writer.writerow(
        (export.id, "TOTAL", "", "", "", "", f"{len(ordered)} lines", "", "", "", "", "", "", total, pounds(total))
    )
    return out.getvalue().encode("utf-8")


def _safe(text: str) -> str:
    """A name opened in a spreadsheet must not run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(month: str) -> tuple[date, date]:
    year, mon = (int(part) for part in month.split("-"))
    first = date(year, mon, 1)
    following = date(year + (mon == 12), mon % 12 + 1, 1)
    return first, following - timedelta(days=1)
