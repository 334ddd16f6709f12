"""What marks a volunteer's row for kept populations to re-read, on the real store (SQLite).

A worker's kept population re-reads only the volunteers marked since its last
look: everything that changes what the engine reads about someone must mark them
(their offer, status, erasure, and their standing: approvals, rejections, closes),
and a rescore writing suggestions must mark nobody, or every event would re-read
whole requests' worth of people.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text

from matcher.bootstrap import Services
from matcher.domain import Coordinator, MatchStatus
from matcher.generate import AREAS, make_volunteer
from matcher.services import decisions, endings, intake, suggestions, volunteer_self
from matcher.services.population import KeptVolunteers
from tests.fakes import FakeClock

CLOCK = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def _offer(n: int) -> dict[str, Any]:
    v, _ = make_volunteer(random.Random(n), n)
    return {
        "name": f"Volunteer {n}",
        "email": f"v{n}@example.org",
        "kind": v.kind,
        "home_area": "tower_hamlets",
        "roles": ["focus_group", "pdsa_tester"],
        "modes": ["video", "in_person"],
        "availability": [{"day": "tue", "start": "09:00", "end": "17:00"}],
        "max_commitments": 2,
        "consent": {"version": "2026-01"},
    }


def _request() -> dict[str, Any]:
    return {
        "team_name": "Ward 5",
        "project_title": "Falls",
        "area": "tower_hamlets",
        "qi_stage": "understanding",
        "roles": [{"role": "focus_group", "count": 2}],
        "modes": ["video"],
        "meeting_slots": [{"day": "tue", "start": "10:00", "end": "11:00"}],
        "contact": {"name": "Lead", "email": "lead@nhs.example"},
    }


def _marked(services: Services, action: Callable[[], object]) -> list[str]:
    """The volunteers ``action`` marks."""
    with services.uow() as uow:
        mark = uow.matching_reads.horizon()
    action()
    with services.uow() as uow:
        return uow.matching_reads.changed_since(mark)


def test_changes_to_an_offer_or_a_standing_mark_the_volunteer_and_rescores_mark_nobody(services: Services) -> None:
    config = services.settings.matching
    ids = []
    for n in range(3):
        marked = _marked(
            services, lambda n=n: ids.append(intake.register_volunteer(services.uow(), _offer(n), CLOCK).id)
        )  # type: ignore[misc]
        assert marked == [ids[-1]]
    request = intake.submit_request(services.uow(), _request(), CLOCK)
    assert _marked(services, lambda: suggestions.suggest_for_request(services.uow(), request.id, config, CLOCK)) == []
    with services.uow() as uow:
        coordinator = Coordinator("c@nhs.example", "x", list(AREAS), admin=True, created_at=CLOCK.now())
        uow.coordinators.add(coordinator)
        uow.commit()
        suggested = uow.matches.where(team_request_id=request.id, status=MatchStatus.SUGGESTED, order_by="id")
    first, second = suggested[0], suggested[1]

    assert _marked(services, lambda: decisions.approve(services.uow(), first.id, coordinator, CLOCK)) == [
        first.volunteer_id
    ]
    assert _marked(services, lambda: decisions.reject(services.uow(), second.id, coordinator, "no", CLOCK)) == [
        second.volunteer_id
    ]
    assert _marked(services, lambda: endings.close_match(services.uow(), first.id, coordinator, "done", CLOCK)) == [
        first.volunteer_id
    ]
    third = ids[2]
    edit = lambda: intake.update_volunteer(services.uow(), third, {"roles": ["pdsa_tester"]}, CLOCK)  # noqa: E731
    assert _marked(services, edit) == [third]
    pause = lambda: volunteer_self.pause_until(services.uow(), third, date(2026, 3, 20), CLOCK)  # noqa: E731
    assert _marked(services, pause) == [third]
    assert _marked(services, lambda: volunteer_self.erase(services.uow(), third, CLOCK)) == [third]


def test_a_kept_population_follows_a_standing_changed_by_someone_else(services: Services) -> None:
    config = services.settings.matching
    volunteer = intake.register_volunteer(services.uow(), _offer(7), CLOCK)
    request = intake.submit_request(services.uow(), _request(), CLOCK)
    kept = KeptVolunteers()
    suggestions.suggest_for_request(services.uow(), request.id, config, CLOCK, kept)
    with services.uow() as uow:
        coordinator = Coordinator("c@nhs.example", "x", list(AREAS), admin=True, created_at=CLOCK.now())
        uow.coordinators.add(coordinator)
        uow.commit()
        (match,) = uow.matches.where(team_request_id=request.id)
    decisions.approve(services.uow(), match.id, coordinator, CLOCK)  # another process, as far as `kept` knows
    with services.uow() as uow:
        population = kept.current(uow, config)
        column = population.position(volunteer.id)
        assert column is not None
        assert population.arrays["active"][column] == 1
        assert request.id in population.matched_request_ids[column]  # rule 9 now keeps them off it
    assert kept.full_loads == 1


def test_rows_gone_behind_the_marks_back_make_the_population_read_everyone_again(services: Services) -> None:
    config = services.settings.matching
    ids = [intake.register_volunteer(services.uow(), _offer(n), CLOCK).id for n in range(3)]
    kept = KeptVolunteers()
    with services.uow() as uow:
        assert len(kept.current(uow, config)) == 3
    assert services.engine is not None
    with services.engine.begin() as conn:  # as a test's TRUNCATE does: no mark is left
        conn.execute(text("DELETE FROM events"))
        conn.execute(text("DELETE FROM volunteers WHERE id = :id"), {"id": ids[0]})
    with services.uow() as uow:
        population = kept.current(uow, config)
        assert ids[0] not in population and len(population) == 2
    assert kept.full_loads == 2
