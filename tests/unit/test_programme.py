"""The programme's figures: run charts with medians and shifts, Big I, first-timers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from matcher.domain import Coordinator, Event, Match, MatchStatus, TeamRequest
from matcher.errors import Forbidden
from matcher.services import programme
from tests.fakes import FakeClock, FakeUnitOfWork
from web.pages.faq import render


def request(n: int, area: str, created: object) -> TeamRequest:
    return TeamRequest(
        team_name=f"T{n}", project_title=f"P{n}", area=area, qi_stage="testing",
        roles=[{"role": "project_team_member", "count": 1}], modes=["video"], contact_name="C",
        contact_email="c@nhs.example", id=f"r{n}", created_at=created,  # type: ignore[arg-type]
    )  # fmt: skip


def test_weekly_counts_median_big_i_and_first_timers() -> None:
    clock = FakeClock()
    u = FakeUnitOfWork()
    start = clock.now() - timedelta(weeks=3)
    for n in range(4):
        u.requests.add(request(n, "tower_hamlets", start + timedelta(weeks=n)))
    u.requests.add(request(9, "newham", start))
    u.matches.add(Match("r0", "v1", "project_team_member", 0.5, {}, id="m1", status=MatchStatus.INTRODUCED))
    for i, (rid, vid) in enumerate([("r0", "v1"), ("r1", "v1"), ("r2", "v2")]):
        at = start + timedelta(weeks=i, days=1)
        u.events.add(Event("match.approved", at, team_request_id=rid, volunteer_id=vid))
    u.events.add(Event("match.introduced", start + timedelta(days=3), team_request_id="r0"))
    coordinator = Coordinator("lead@nhs.example", "x", ["tower_hamlets", "newham"])

    figs = programme.figures(u, coordinator, clock)
    new, approved, days = figs.charts
    assert len(new.weeks) == programme.MIN_WEEKS
    assert new.values[-4:] == [2, 1, 1, 1] and sum(v or 0 for v in new.values) == 5
    assert approved.values[-4:] == [1, 1, 1, 0]
    assert days.values[-4] == 3.0 and days.values[-1] is None
    assert new.median == 0.0  # most of the twelve weeks are empty
    shares = {s.area: (s.projects, s.with_big_i) for s in figs.big_i}
    assert shares == {"tower_hamlets": (4, 1), "newham": (1, 0)}
    assert (figs.approvals, figs.first_time) == (3, 2)
    rows = programme.csv_rows(figs)
    assert rows[0] == ["measure", "area", "week_starting", "value"]
    assert ["first_time_share", "", "", "0.667"] in rows


def test_a_shift_is_six_points_on_one_side_of_the_median() -> None:
    values: list[float | None] = [1, 1, 1, 1, 1, 1, 5, 5, 5, 5, 5, 5, None, 5]
    flags = programme._shifts(values, 3.0)
    assert flags[:12] == [True] * 12 and flags[13]


def test_faq_subset_escapes_html_and_links_headings() -> None:
    body, headings = render("## What is QI?\n\nSee [the form](/volunteer/sign-up) <script>x</script>\n\n- **a**\n- b")
    assert '<h2 id="what-is-qi">' in body and headings[0].id == "what-is-qi"
    assert '<a href="/volunteer/sign-up">the form</a>' in body
    assert "script" not in body  # the script goes, content and all
    assert "<ul>\n<li><strong>a</strong></li>\n<li>b</li>\n</ul>" in body


def test_figures_for_an_area_the_coordinator_does_not_look_after_are_refused() -> None:
    u = FakeUnitOfWork()
    u.requests.add(request(1, "newham", FakeClock().now()))
    coordinator = Coordinator("lead@nhs.example", "x", ["tower_hamlets"])
    with pytest.raises(Forbidden):
        programme.figures(u, coordinator, FakeClock(), area="newham")
