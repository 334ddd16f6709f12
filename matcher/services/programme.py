"""The programme's own measures, the QI way: weekly run charts with their
medians, Big I involvement per area and the first-time volunteers' share."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from matcher.domain import Coordinator, EventKind, FeedbackForm, MatchStatus
from matcher.ports import Clock, UnitOfWork
from matcher.scheduling import LONDON
from matcher.services.visibility import areas_in_view

# "Big I": a volunteer as a full member of the project team, not consulted once.
BIG_I_ROLES = frozenset({"project_team_member"})
SHIFT_LENGTH = 6  # six or more points in a row on one side of the median: a shift
MAX_WEEKS = 52
MIN_WEEKS = 12


@dataclass
class RunChart:
    key: str
    title: str
    unit: str
    weeks: list[date]
    values: list[float | None]  # None: nothing to measure that week
    median: float | None = None
    shifts: list[bool] = field(default_factory=list)  # per point: part of a shift


@dataclass
class AreaShare:
    area: str
    projects: int
    with_big_i: int

    @property
    def share(self) -> float | None:
        return None if self.projects == 0 else self.with_big_i / self.projects


@dataclass
class FeedbackMonth:
    """The feedback forms asked for in one month, and what came back."""

    month: date  # its first day
    asked: int
    answered: int
    median_rating: float | None

    @property
    def response_rate(self) -> float | None:
        return None if self.asked == 0 else self.answered / self.asked


@dataclass
class Figures:
    charts: list[RunChart]
    big_i: list[AreaShare]
    approvals: int
    first_time: int
    feedback: list[FeedbackMonth] = field(default_factory=list)

    @property
    def first_time_share(self) -> float | None:
        return None if self.approvals == 0 else self.first_time / self.approvals


def week_of(moment: datetime) -> date:
    local = moment.astimezone(LONDON).date()
    return local - timedelta(days=local.weekday())


def _shifts(values: list[float | None], median: float | None) -> list[bool]:
    flags = [False] * len(values)
    if median is None:
        return flags
    run: list[int] = []
    side = 0
    for i, v in enumerate(values):
        if v is None or v == median:
            continue  # empty weeks and points on the median neither break nor extend a run
        s = 1 if v > median else -1
        if s != side:
            run, side = [], s
        run.append(i)
        if len(run) >= SHIFT_LENGTH:
            for j in run:
                flags[j] = True
    return flags


def _chart(key: str, title: str, unit: str, weeks: list[date], values: list[float | None]) -> RunChart:
    present = [v for v in values if v is not None]
    median = statistics.median(present) if present else None
    return RunChart(key, title, unit, weeks, values, median, _shifts(values, median))


def figures(uow: UnitOfWork, coordinator: Coordinator, clock: Clock, area: str | None = None) -> Figures:
    areas = areas_in_view(coordinator, area)
    with uow:
        requests = {r.id: r for r in uow.requests.where(area=areas)}
        ids = list(requests)
        approved = uow.events.where(kind=EventKind.MATCH_APPROVED, order_by="id")  # trust-wide: for "first time"
        introduced = uow.events.where(kind=EventKind.MATCH_INTRODUCED, team_request_id=ids, order_by="id")
        held = uow.matches.where(
            team_request_id=ids, status=[*MatchStatus.COMMITTED, MatchStatus.CLOSED], role=list(BIG_I_ROLES)
        )
        match_ids = [
            m.id for m in uow.matches.where(team_request_id=ids, status=[*MatchStatus.COMMITTED, MatchStatus.CLOSED])
        ]
        forms = uow.feedback_forms.where(match_id=match_ids, order_by="asked_at")
        ratings = {a.form_id: a.rating for a in uow.feedback_answers.where(match_id=match_ids)}

    this_week = week_of(clock.now())
    first = min((week_of(r.created_at) for r in requests.values() if r.created_at), default=this_week)
    first = max(first, this_week - timedelta(weeks=MAX_WEEKS - 1))
    first = min(first, this_week - timedelta(weeks=MIN_WEEKS - 1))
    weeks = [first + timedelta(weeks=i) for i in range((this_week - first).days // 7 + 1)]

    new_requests = Counter(week_of(r.created_at) for r in requests.values() if r.created_at)
    approvals_here = [e for e in approved if e.team_request_id in requests]
    approvals = Counter(week_of(e.occurred_at) for e in approvals_here)
    waits: dict[date, list[float]] = defaultdict(list)
    for e in introduced:
        request = requests.get(e.team_request_id or "")
        if request is not None and request.created_at is not None:
            waits[week_of(e.occurred_at)].append((e.occurred_at - request.created_at).total_seconds() / 86400)

    charts = [
        _chart("new_requests", "New requests each week", "requests", weeks, [float(new_requests[w]) for w in weeks]),
        _chart(
            "matches_approved", "Matches approved each week", "matches", weeks, [float(approvals[w]) for w in weeks]
        ),
        _chart(
            "days_to_introduction",
            "Median days from request to introduction",
            "days",
            weeks,
            [round(statistics.median(waits[w]), 1) if waits.get(w) else None for w in weeks],
        ),
    ]

    big_i_requests = {m.team_request_id for m in held}
    big_i = [
        AreaShare(
            a,
            sum(1 for r in requests.values() if r.area == a),
            sum(1 for r in requests.values() if r.area == a and r.id in big_i_requests),
        )
        for a in areas
    ]

    seen: set[str] = set()
    first_time = 0
    for e in approved:
        is_first = e.volunteer_id not in seen
        seen.add(e.volunteer_id or "")
        if is_first and e.team_request_id in requests:
            first_time += 1
    return Figures(charts, big_i, len(approvals_here), first_time, _feedback_months(forms, ratings, clock))


def month_of(moment: datetime) -> date:
    return moment.astimezone(LONDON).date().replace(day=1)


def _feedback_months(forms: list[FeedbackForm], ratings: dict[str, int], clock: Clock) -> list[FeedbackMonth]:
    """Per month a form was asked in (the last twelve): how many were answered, and the median rating."""
    this_month = month_of(clock.now())
    months = [this_month]
    while len(months) < 12:
        months.append((months[-1] - timedelta(days=1)).replace(day=1))
    months.reverse()
    asked: Counter[date] = Counter()
    rated: dict[date, list[int]] = defaultdict(list)
    for form in forms:
        month = month_of(form.asked_at)
        asked[month] += 1
        if form.id in ratings:
            rated[month].append(ratings[form.id])
    return [
        FeedbackMonth(m, asked[m], len(rated[m]), statistics.median(rated[m]) if rated[m] else None) for m in months
    ]


def csv_rows(figs: Figures) -> list[list[str]]:
    """The same figures in long form: measure, area, week, value."""
    rows = [["measure", "area", "week_starting", "value"]]
    for chart in figs.charts:
        for week, value in zip(chart.weeks, chart.values, strict=True):
            rows.append([chart.key, "", week.isoformat(), "" if value is None else f"{value:g}"])
        rows.append([f"{chart.key}_median", "", "", "" if chart.median is None else f"{chart.median:g}"])
    for share in figs.big_i:
        rows.append(["projects", share.area, "", str(share.projects)])
        rows.append(["projects_with_big_i", share.area, "", str(share.with_big_i)])
        rows.append(["big_i_share", share.area, "", "" if share.share is None else f"{share.share:.3f}"])
    rows.append(["approvals", "", "", str(figs.approvals)])
    rows.append(["first_time_volunteer_approvals", "", "", str(figs.first_time)])
    rows.append(["first_time_share", "", "", "" if figs.first_time_share is None else f"{figs.first_time_share:.3f}"])
    for m in figs.feedback:
        rows.append(["feedback_forms_asked", "", m.month.isoformat(), str(m.asked)])
        rows.append(["feedback_forms_answered", "", m.month.isoformat(), str(m.answered)])
        rate = m.response_rate
        rows.append(["feedback_response_rate", "", m.month.isoformat(), "" if rate is None else f"{rate:.3f}"])
        median = m.median_rating
        rows.append(["feedback_median_rating", "", m.month.isoformat(), "" if median is None else f"{median:g}"])
    return rows
