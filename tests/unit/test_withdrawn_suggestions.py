"""A suggestion that goes leaves a timeline entry saying why (codes only)."""

from __future__ import annotations

import dataclasses

from matcher.config import MatchingConfig
from matcher.domain import Event, MatchStatus
from matcher.services import decisions, endings, intake, suggestions
from tests import factories
from tests.fakes import FakeClock, FakeUnitOfWork

CONFIG = MatchingConfig()
WITHDRAWN = "match.suggestion_withdrawn"


def suggested(uow: FakeUnitOfWork, clock: FakeClock, config: MatchingConfig = CONFIG, **request):  # type: ignore[no-untyped-def]
    volunteer = intake.register_volunteer(uow, factories.offer(), clock)
    team_request = intake.submit_request(uow, factories.team_request(**request), clock)
    suggestions.suggest_for_request(uow, team_request.id, config, clock)
    match = uow.matches.where(team_request_id=team_request.id, status=MatchStatus.SUGGESTED)[0]
    return volunteer, team_request, match


def withdrawals(uow: FakeUnitOfWork, request_id: str) -> list[Event]:
    return uow.events.where(team_request_id=request_id, kind=WITHDRAWN, order_by="id")


def test_a_rescore_that_drops_an_ineligible_suggestion_says_which_rule(uow, clock) -> None:
    volunteer, team_request, match = suggested(uow, clock)
    intake.update_volunteer(
        uow, volunteer.id, {"availability": [{"day": "wed", "start": "09:00", "end": "17:00"}]}, clock
    )

    suggestions.rescore_for_volunteer(uow, volunteer.id, CONFIG, clock)

    assert uow.matches.get(match.id) is None
    [event] = withdrawals(uow, team_request.id)
    assert (event.match_id, event.volunteer_id) == (match.id, volunteer.id)
    assert event.data == {"reason": "no_longer_eligible", "role": "focus_group", "rules": ["no_slot_fits"]}


def test_pausing_or_withdrawing_says_so(uow, clock) -> None:
    paused, _, _ = suggested(uow, clock)
    gone, _, _ = suggested(uow, clock)

    intake.update_volunteer(uow, paused.id, {"status": "paused"}, clock)
    suggestions.rescore_for_volunteer(uow, paused.id, CONFIG, clock)
    intake.update_volunteer(uow, gone.id, {"status": "withdrawn"}, clock)  # drops them at once

    def reasons(volunteer_id: str) -> set[str]:
        return {e.data["reason"] for e in uow.events.where(volunteer_id=volunteer_id, kind=WITHDRAWN)}

    assert (reasons(paused.id), reasons(gone.id)) == ({"volunteer_paused"}, {"volunteer_withdrew"})
    assert uow.matches.where(status=MatchStatus.SUGGESTED) == []


def test_someone_who_fits_better_takes_the_place(uow, clock) -> None:
    config = dataclasses.replace(CONFIG, alternates_per_request=0)
    first, team_request, match = suggested(uow, clock, config, experience_sought=["carer_experience"])
    better = intake.register_volunteer(uow, factories.offer(experience=["carer_experience"]), clock)

    suggestions.rescore_for_volunteer(uow, better.id, config, clock)

    assert [m.volunteer_id for m in uow.matches.where(team_request_id=team_request.id)] == [better.id]
    [event] = withdrawals(uow, team_request.id)
    assert event.volunteer_id == first.id and event.data["reason"] == "better_candidates"


def test_filling_or_closing_a_request_withdraws_what_is_left(uow, clock, coordinator) -> None:
    _, filled, taken = suggested(uow, clock)
    intake.register_volunteer(uow, factories.offer(), clock)
    suggestions.suggest_for_request(uow, filled.id, CONFIG, clock)
    _, closed, _ = suggested(uow, clock)

    decisions.approve(uow, taken.id, coordinator, clock)
    endings.close_request(uow, closed.id, coordinator, clock)

    assert {e.data["reason"] for e in withdrawals(uow, filled.id)} == {"request_filled"}
    assert {e.data["reason"] for e in withdrawals(uow, closed.id)} == {"request_closed"}
    assert uow.matches.where(status=MatchStatus.SUGGESTED) == []


def test_a_role_filled_while_the_request_stays_open(uow, clock, coordinator) -> None:
    roles = [{"role": "focus_group", "count": 1}, {"role": "reviewer", "count": 1}]
    _, team_request, _ = suggested(uow, clock, roles=roles)
    for _ in range(2):
        intake.register_volunteer(uow, factories.offer(roles=["focus_group"]), clock)
    suggestions.suggest_for_request(uow, team_request.id, CONFIG, clock)
    on_focus_group = [m for m in uow.matches.where(team_request_id=team_request.id, role="focus_group") if m.proposed]
    decisions.approve(uow, on_focus_group[0].id, coordinator, clock)

    suggestions.suggest_for_request(uow, team_request.id, CONFIG, clock)

    reasons = {e.data["reason"] for e in withdrawals(uow, team_request.id) if e.data["role"] == "focus_group"}
    assert reasons == {"role_filled"}
