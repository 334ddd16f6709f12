"""Involvement payments: the use cases (see ``matcher.payments`` for the rules and docs/payments.md).

Every cap decision for a person (making a line, approving one) runs under the lock on
that volunteer's row, so two coordinators approving two of one person's lines at the
same moment decide one after the other, each against what the other approved. A
coordinator sees and acts on the payments of volunteers whose home area they look after
(the line keeps the area it was made in).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from matcher.domain import AuditAction, AuditSubject, Coordinator, MatchStatus, Volunteer
from matcher.errors import Conflict, Invalid, NotFound
from matcher.payments import (
    Activity,
    ActivitySource,
    FinanceExport,
    HoldReason,
    LineKind,
    LineStatus,
    PaymentAccount,
    PaymentLine,
    Preference,
    Rate,
    amount_for,
    cap_excess,
    finance_csv,
    four_weeks_of,
    month_bounds,
    pounds,
    rate_on,
    tax_year_of,
    week_of,
)
from matcher.ports import Clock, UnitOfWork
from matcher.programme_sessions import BookingStatus
from matcher.services import audit

VOLUNTEER = "volunteer"  # who changed an account, when it was the person themselves


def _volunteer(uow: UnitOfWork, volunteer_id: str, coordinator: Coordinator | None, lock: bool = False) -> Volunteer:
    """The volunteer, if the coordinator (when one acts) looks after their home area."""
    v = uow.volunteers.get(volunteer_id, for_update=lock)
    if v is None or v.erased or (coordinator is not None and not coordinator.covers(v.home_area)):
        raise NotFound("no such volunteer in your areas")
    return v


def account_of(uow: UnitOfWork, volunteer_id: str) -> PaymentAccount:
    """Inside the caller's unit of work: the person's account, or the default (paid, no caps) unsaved."""
    return uow.payment_accounts.get(volunteer_id) or PaymentAccount(id=volunteer_id)


# ---- preferences and caps --------------------------------------------------------------------


def set_account(
    uow: UnitOfWork, volunteer_id: str, fields: dict[str, Any], clock: Clock, coordinator: Coordinator | None = None
) -> PaymentAccount:
    """The person (through their private link) or a coordinator sets the preference and caps.
    A cap left out is unchanged; a cap given as null is removed."""
    now = clock.now()
    with uow:
        _volunteer(uow, volunteer_id, coordinator, lock=True)
        account = uow.payment_accounts.get(volunteer_id, for_update=True)
        if account is None:
            account = PaymentAccount(id=volunteer_id)
            uow.payment_accounts.add(account)
        for name, value in fields.items():
            setattr(account, name, value)
        account.updated_at, account.updated_by = now, coordinator.id if coordinator else VOLUNTEER
        if coordinator is not None:
            audit.record(
                uow, coordinator, AuditAction.PAYMENT_ACCOUNT_SET, AuditSubject.VOLUNTEER, volunteer_id, clock,
                fields=sorted(fields),
            )  # fmt: skip
        uow.commit()
    return account


def account_for(uow: UnitOfWork, volunteer_id: str, coordinator: Coordinator) -> tuple[str, PaymentAccount]:
    """The volunteer's name and account, for a coordinator of their home area."""
    with uow:
        v = _volunteer(uow, volunteer_id, coordinator)
        return v.name, account_of(uow, volunteer_id)


# ---- rates -----------------------------------------------------------------------------------


def set_rate(uow: UnitOfWork, fields: dict[str, Any], coordinator: Coordinator, clock: Clock) -> Rate:
    """A rate for one activity type from a date on. Lines already made keep their own rate."""
    rate = Rate(created_by=coordinator.id, created_at=clock.now(), **fields)
    with uow:
        if uow.rates.where(activity_type=rate.activity_type, effective_from=rate.effective_from):
            raise Invalid({"effective_from": ["This activity type already has a rate from that date."]})
        uow.rates.add(rate)
        audit.record(
            uow, coordinator, AuditAction.RATE_SET, AuditSubject.RATE, rate.id, clock,
            activity_type=rate.activity_type, pence=rate.pence, basis=rate.basis,
        )  # fmt: skip
        uow.commit()
    return rate


def rates(uow: UnitOfWork) -> list[Rate]:
    with uow:
        return uow.rates.where(order_by="effective_from")


# ---- activities and lines ----------------------------------------------------------------------


def _counted(
    uow: UnitOfWork, volunteer_id: str, statuses: tuple[str, ...], but: str | None = None
) -> list[PaymentLine]:
    return [
        line for line in uow.payment_lines.where(volunteer_id=volunteer_id, status=list(statuses)) if line.id != but
    ]


def _check_links(uow: UnitOfWork, v: Volunteer, fields: dict[str, Any]) -> dict[str, Any]:
    """The match or session an activity belongs to must be the person's own; a session's
    attendance must be marked. Returns the fields completed from the session."""
    errors: dict[str, list[str]] = {}
    fields = dict(fields)
    if fields.get("follow_up_id"):
        follow_up = uow.follow_ups.get(fields["follow_up_id"])
        match = uow.matches.get(follow_up.match_id) if follow_up else None
        if match is None or match.volunteer_id != v.id:
            errors["follow_up_id"] = ["Not a follow-up of one of this volunteer's matches."]
        else:
            fields["match_id"] = match.id
    if fields.get("match_id"):
        match = uow.matches.get(fields["match_id"])
        if match is None or match.volunteer_id != v.id:
            errors["match_id"] = ["Not one of this volunteer's matches."]
    if fields.get("session_id"):
        session = uow.programme_sessions.get(fields["session_id"])
        booking = uow.bookings.where(session_id=fields["session_id"], volunteer_id=v.id)
        if session is None or not booking or booking[0].status != BookingStatus.BOOKED or not booking[0].attended:
            errors["session_id"] = ["This volunteer's attendance at that session is not marked."]
        elif not fields.get("on"):
            fields["on"] = session.starts_at.date()
            fields.setdefault("minutes", session.minutes)
    if errors:
        raise Invalid(errors)
    return fields


def record_activity(
    uow: UnitOfWork,
    fields: dict[str, Any],
    clock: Clock,
    coordinator: Coordinator | None = None,
    source: str | None = None,
) -> tuple[Activity, PaymentLine | None]:
    """One time a volunteer took part, and (unless they volunteer unpaid) its payable line,
    held back when it would take them over one of their caps."""
    now = clock.now()
    with uow:
        v = _volunteer(uow, fields["volunteer_id"], coordinator, lock=True)
        fields = _check_links(uow, v, fields)
        errors: dict[str, list[str]] = {}
        if fields.get("on") is None:
            errors["on"] = ["Give the date they took part."]
        elif fields["on"] > now.date():
            errors["on"] = ["Record an activity once it has taken place."]
        if not fields.get("minutes"):
            errors["minutes"] = ["Give how long it lasted, in minutes."]
        if errors:
            raise Invalid(errors)
        source = source or (
            ActivitySource.SESSION if fields.get("session_id")
            else ActivitySource.FOLLOW_UP if fields.get("follow_up_id")
            else ActivitySource.COORDINATOR
        )  # fmt: skip
        activity = Activity(
            volunteer_id=v.id, area=v.home_area, on=fields["on"], minutes=fields["minutes"],
            activity_type=fields["activity_type"], source=source,
            recorded_by=coordinator.id if coordinator else "team",
            match_id=fields.get("match_id"), session_id=fields.get("session_id"), created_at=now,
        )  # fmt: skip
        account = account_of(uow, v.id)
        line = None
        if account.preference != Preference.UNPAID:
            rate = rate_on(uow.rates.where(activity_type=activity.activity_type), activity.activity_type, activity.on)
            if rate is None:
                raise Invalid({"activity_type": ["No rate is set for this activity type on that date."]})
            line = PaymentLine(
                volunteer_id=v.id, area=v.home_area, kind=LineKind.ACTIVITY, on=activity.on,
                pence=amount_for(rate.pence, rate.basis, activity.minutes), method=account.preference,
                activity_id=activity.id, activity_type=activity.activity_type, minutes=activity.minutes,
                rate_id=rate.id, rate_pence=rate.pence, rate_basis=rate.basis, created_at=now,
            )  # fmt: skip
            over = cap_excess(account, line.on, line.pence, _counted(uow, v.id, LineStatus.COUNTED))
            if over is not None:
                line.hold(*over)
        uow.activities.add(activity)
        if line is not None:
            uow.payment_lines.add(line)
        if coordinator is not None:
            audit.record(
                uow, coordinator, AuditAction.ACTIVITY_RECORDED, AuditSubject.VOLUNTEER, v.id, clock,
                activity=activity.id, source=source,
            )  # fmt: skip
        uow.commit()
    return activity, line


def confirm_by_team(
    uow: UnitOfWork, request_id: str, fields: dict[str, Any], clock: Clock
) -> tuple[Activity, PaymentLine | None]:
    """A team confirms, by its private link, that an introduced volunteer took part in its
    project: an activity like a coordinator's entry, recorded by "team" (not in the audit log,
    which is for coordinators; the activity row says who and when)."""
    with uow:
        match = uow.matches.get(fields["match_id"])
        if match is None or match.team_request_id != request_id or match.status not in (
            MatchStatus.INTRODUCED, MatchStatus.CLOSED,
        ):  # fmt: skip
            raise Invalid({"match_id": ["Choose someone introduced to your team."]})
        volunteer_id = match.volunteer_id
    return record_activity(
        uow, {**fields, "volunteer_id": volunteer_id}, clock, coordinator=None, source=ActivitySource.TEAM_LINK
    )


def add_travel(uow: UnitOfWork, fields: dict[str, Any], coordinator: Coordinator, clock: Clock) -> PaymentLine:
    """A travel expense: its own line, reimbursed in money whatever the preference, and not
    counted against caps (a reimbursement is not earnings)."""
    now = clock.now()
    with uow:
        v = _volunteer(uow, fields["volunteer_id"], coordinator, lock=True)
        if fields["on"] > now.date():
            raise Invalid({"on": ["Record an expense once the journey has been made."]})
        line = PaymentLine(
            volunteer_id=v.id, area=v.home_area, kind=LineKind.TRAVEL, on=fields["on"], pence=fields["pence"],
            method=Preference.PAID, description=fields["description"], receipt_held=fields["receipt_held"],
            created_at=now,
        )  # fmt: skip
        uow.payment_lines.add(line)
        audit.record(uow, coordinator, AuditAction.EXPENSE_RECORDED, AuditSubject.PAYMENT_LINE, line.id, clock)
        uow.commit()
    return line


# ---- claims: approve and hold -----------------------------------------------------------------


def _locked_line(uow: UnitOfWork, line_id: str, coordinator: Coordinator) -> PaymentLine:
    """The line's volunteer locked first (every cap decision for a person waits on it), then the line."""
    line = uow.payment_lines.get(line_id)
    if line is None or not coordinator.covers(line.area):
        raise NotFound("no such payment line in your areas")
    uow.volunteers.get(line.volunteer_id, for_update=True)
    line = uow.payment_lines.get(line_id, for_update=True)
    assert line is not None  # lines are never deleted while their volunteer's row is locked
    return line


class OverCap(Conflict):
    """Approving would take the person over a cap: the line is held instead (and stays held)."""

    def __init__(self, line: PaymentLine) -> None:
        words = HoldReason.WORDS.get(line.hold_reason or "", "over a cap")
        super().__init__(f"not approved: this line is {words} by £{pounds(line.over_by_pence or 0)}, so it is held")
        self.line = line


def approve(uow: UnitOfWork, line_id: str, coordinator: Coordinator, clock: Clock, second_over: int) -> PaymentLine:
    """Approve a line (pending or held). The caps are checked again against what is approved
    now; over them, the line is held with the excess and a 409 says so. Over ``second_over``
    pence a line needs a second coordinator's approval as well."""
    now = clock.now()
    with uow:
        line = _locked_line(uow, line_id, coordinator)
        if line.counts_against_caps:
            account = account_of(uow, line.volunteer_id)
            approved = _counted(uow, line.volunteer_id, (LineStatus.APPROVED, LineStatus.AWAITING_SECOND), but=line.id)
            over = cap_excess(account, line.on, line.pence, approved)
            if over is not None:
                if line.status != LineStatus.HELD:
                    line.hold(*over)
                else:
                    line.hold_reason, line.over_by_pence = over
                audit.record(
                    uow, coordinator, AuditAction.LINE_HELD, AuditSubject.PAYMENT_LINE, line.id, clock, reason=over[0]
                )
                uow.commit()
                raise OverCap(line)
        line.approve(coordinator.id, now, second_over)
        audit.record(
            uow, coordinator, AuditAction.LINE_APPROVED, AuditSubject.PAYMENT_LINE, line.id, clock,
            status=line.status, pence=line.pence,
        )  # fmt: skip
        uow.commit()
    return line


def hold(uow: UnitOfWork, line_id: str, coordinator: Coordinator, clock: Clock) -> PaymentLine:
    """A coordinator holds a line back (a question about it); approving it later releases it."""
    with uow:
        line = _locked_line(uow, line_id, coordinator)
        line.hold(HoldReason.COORDINATOR, None)
        audit.record(
            uow, coordinator, AuditAction.LINE_HELD, AuditSubject.PAYMENT_LINE, line.id, clock,
            reason=HoldReason.COORDINATOR,
        )  # fmt: skip
        uow.commit()
    return line


def claims(
    uow: UnitOfWork, coordinator: Coordinator, status: str | None = None, volunteer_id: str | None = None
) -> list[PaymentLine]:
    """Lines in the coordinator's areas, oldest first; ``status`` or ``volunteer_id`` to narrow."""
    criteria: dict[str, Any] = {"area": list(coordinator.areas)}
    if status:
        criteria["status"] = status
    if volunteer_id:
        criteria["volunteer_id"] = volunteer_id
    with uow:
        return uow.payment_lines.where(order_by="on", **criteria)


def activities(uow: UnitOfWork, coordinator: Coordinator, volunteer_id: str | None = None) -> list[Activity]:
    criteria: dict[str, Any] = {"area": list(coordinator.areas)}
    if volunteer_id:
        criteria["volunteer_id"] = volunteer_id
    with uow:
        return uow.activities.where(order_by="on", **criteria)


# ---- finance export ------------------------------------------------------------------------------


def export_month(uow: UnitOfWork, month: str, coordinator: Coordinator, clock: Clock) -> tuple[FinanceExport, bool]:
    """Export the month's approved lines not yet exported, in the coordinator's areas.

    Returns the export and whether it is new. With nothing new to export, the latest
    export of the same month and areas comes back as it was (its CSV is the same bytes).
    Each line is claimed under its row lock and carries the export's id from then on, so
    two exports at once never hold the same line.
    """
    first, last = month_bounds(month)
    areas = sorted(coordinator.areas)
    now = clock.now()
    with uow:
        lines = [
            line
            for line in uow.payment_lines.where(
                status=LineStatus.APPROVED, export_id=None, area=areas, order_by="on", for_update=True
            )
            if first <= line.on <= last
        ]
        if not lines:
            earlier = [
                e for e in uow.finance_exports.where(month=month, order_by="made_at") if sorted(e.areas) == areas
            ]
            if earlier:
                return earlier[-1], False
            raise Invalid({"month": ["There are no approved lines to export for this month."]})
        export = FinanceExport(month=month, areas=areas, made_by=coordinator.id, made_at=now)
        names = {v.id: v.name for v in uow.volunteers.where(id=sorted({line.volunteer_id for line in lines}))}
        for line in lines:
            line.export_id = export.id
            line.payee_name = names.get(line.volunteer_id)
        export.line_count, export.total_pence = len(lines), sum(line.pence for line in lines)
        uow.finance_exports.add(export)
        audit.record(
            uow, coordinator, AuditAction.FINANCE_EXPORTED, AuditSubject.FINANCE_EXPORT, export.id, clock,
            month=month, lines=len(lines),
        )  # fmt: skip
        uow.commit()
    return export, True


def _visible_export(uow: UnitOfWork, export_id: str, coordinator: Coordinator) -> FinanceExport:
    export = uow.finance_exports.get(export_id)
    if export is None or not all(coordinator.covers(a) for a in export.areas):
        raise NotFound("no such finance export in your areas")
    return export


def export_file(uow: UnitOfWork, export_id: str, coordinator: Coordinator, clock: Clock) -> tuple[FinanceExport, bytes]:
    """The export's CSV (the same bytes every time); each download is in the audit log."""
    with uow:
        export = _visible_export(uow, export_id, coordinator)
        body = finance_csv(export, uow.payment_lines.where(export_id=export.id))
        audit.record(uow, coordinator, AuditAction.FINANCE_DOWNLOADED, AuditSubject.FINANCE_EXPORT, export.id, clock)
        uow.commit()
    return export, body


def export_lines(uow: UnitOfWork, export_id: str, coordinator: Coordinator) -> tuple[FinanceExport, list[str]]:
    with uow:
        export = _visible_export(uow, export_id, coordinator)
        return export, sorted(line.id for line in uow.payment_lines.where(export_id=export.id))


def exports(uow: UnitOfWork, coordinator: Coordinator) -> list[FinanceExport]:
    with uow:
        found = uow.finance_exports.where(order_by="made_at")
    return [e for e in reversed(found) if all(coordinator.covers(a) for a in e.areas)]


# ---- the volunteer's statement ---------------------------------------------------------------------


def statement(uow: UnitOfWork, volunteer_id: str, today: date) -> dict[str, Any]:
    """What a person sees of their payments: each line and its status, and totals for the
    current week, 4-week period and tax year (approved, and still to be decided)."""
    with uow:
        account = account_of(uow, volunteer_id)
        lines = uow.payment_lines.where(volunteer_id=volunteer_id, order_by="on")
    periods = {
        "week": week_of(today),
        "four_weeks": four_weeks_of(today, account.four_weeks_from),
        "tax_year": tax_year_of(today),
    }
    totals = {}
    for name, (start, end) in periods.items():
        inside = [line for line in lines if start <= line.on <= end]
        totals[name] = {
            "from": start,
            "to": end,
            "approved_pence": sum(line.pence for line in inside if line.status == LineStatus.APPROVED),
            "waiting_pence": sum(line.pence for line in inside if line.status != LineStatus.APPROVED),
        }
    return {"account": account, "lines": lines, "totals": totals}


# ---- the person's own record: export and erasure -----------------------------------------------------


def personal_record(uow: UnitOfWork, volunteer_id: str) -> dict[str, Any]:
    """Inside the caller's unit of work: everything payments hold about the person, for their export."""
    return {
        "account": uow.payment_accounts.get(volunteer_id),
        "activities": uow.activities.where(volunteer_id=volunteer_id, order_by="on"),
        "lines": uow.payment_lines.where(volunteer_id=volunteer_id, order_by="on"),
    }


def forget(uow: UnitOfWork, volunteer_id: str) -> None:
    """Inside the caller's unit of work (an erasure): what finance must keep stays, the rest goes.

    Kept, without a name (docs/payments.md: six years after the tax year they fall in):
    approved lines (date, type, minutes, rate, amount, method, export) and the activities
    behind them. Gone: the preference and caps (they can say something about a person's
    benefits), lines never approved and their activities, journey descriptions, and the
    name copied into exports (so an export's CSV no longer names them).
    """
    account = uow.payment_accounts.get(volunteer_id)
    if account is not None:
        uow.payment_accounts.delete(account)
    kept_activities: set[str] = set()
    for line in uow.payment_lines.where(volunteer_id=volunteer_id):
        if line.status == LineStatus.APPROVED:
            line.description = None if line.kind == LineKind.TRAVEL else line.description
            line.payee_name = None
            if line.activity_id:
                kept_activities.add(line.activity_id)
        else:
            uow.payment_lines.delete(line)
    flush = getattr(uow, "session", None)
    if flush is not None:
        flush.flush()  # the lines go before the activities they point at
    for activity in uow.activities.where(volunteer_id=volunteer_id):
        if activity.id not in kept_activities:
            uow.activities.delete(activity)


def names(uow: UnitOfWork, coordinator: Coordinator) -> dict[str, str]:
    """Names of the volunteers whose payments the coordinator looks after, by id (erased people stay
    listed as erased, so their kept lines still read)."""
    with uow:
        return {v.id: v.name for v in uow.volunteers.where(home_area=list(coordinator.areas), order_by="name")}
