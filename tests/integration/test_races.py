"""Two people acting at the same moment on real PostgreSQL: decided one after the other."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from matcher.bootstrap import Services
from matcher.domain import Coordinator, MatchStatus
from matcher.errors import Conflict
from matcher.services import decisions, intake, suggestions
from tests import factories

pytestmark = pytest.mark.integration


def at_once(*actions: Callable[[], Any]) -> list[Any]:
    """Run the actions in threads released together; each result or the exception it raised."""
    start = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(i: int, action: Callable[[], Any]) -> None:
        start.wait()
        try:
            results[i] = action()
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def coordinator(services: Services, clean: None) -> Coordinator:
    c = Coordinator(
        email="lead@nhs.example", password_hash="-", areas=["tower_hamlets"], created_at=services.clock.now()
    )
    with services.uow() as uow:
        uow.coordinators.add(c)
        uow.commit()
    return c


def test_one_volunteer_approved_on_two_requests_at_once_never_exceeds_their_capacity(
    services: Services, coordinator: Coordinator
) -> None:
    config, clock = services.settings.matching, services.clock
    for _ in range(5):
        volunteer = intake.register_volunteer(services.uow(), factories.offer(max_commitments=1), clock)
        requests = [intake.submit_request(services.uow(), factories.team_request(), clock) for _ in range(2)]
        for r in requests:
            suggestions.suggest_for_request(services.uow(), r.id, config, clock)
        with services.uow() as uow:
            ids = [m.id for m in uow.matches.where(volunteer_id=volunteer.id)]
        assert len(ids) == 2
        outcomes = at_once(*[lambda m=m: decisions.approve(services.uow(), m, coordinator, clock) for m in ids])
        assert sum(isinstance(o, Conflict) for o in outcomes) == 1, outcomes
        with services.uow() as uow:
            assert uow.matches.count(volunteer_id=volunteer.id, status=MatchStatus.APPROVED) == 1


def test_a_rescore_running_during_an_approval_never_undoes_it(services: Services, coordinator: Coordinator) -> None:
    config, clock = services.settings.matching, services.clock
    for _ in range(6):
        intake.register_volunteer(services.uow(), factories.offer(max_commitments=5), clock)
    for hour in range(9, 17):
        # Each team meets at its own hour on Tuesdays, so rule 10 (time_clash) leaves people free for the next.
        slot = {"day": "tue", "start": f"{hour:02d}:00", "end": f"{hour + 1:02d}:00"}
        request = intake.submit_request(
            services.uow(),
            factories.team_request(roles=[{"role": "focus_group", "count": 2}], meeting_slots=[slot]),
            clock,
        )
        suggestions.suggest_for_request(services.uow(), request.id, config, clock)
        with services.uow() as uow:
            chosen = uow.matches.where(team_request_id=request.id, proposed=True)[0]
        at_once(
            lambda chosen=chosen: decisions.approve(services.uow(), chosen.id, coordinator, clock),
            lambda request=request: suggestions.suggest_for_request(services.uow(), request.id, config, clock),
        )
        with services.uow() as uow:
            kept = uow.matches.get(chosen.id)
            assert kept is not None and kept.status == MatchStatus.APPROVED


def _waiting_on_a_lock(services: Services) -> bool:
    assert services.engine is not None
    with services.engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "select count(*) from pg_stat_activity"
                    " where wait_event_type = 'Lock' and datname = current_database()"
                )
            ).scalar_one()
        )


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_a_decision_racing_a_rescore_that_withdraws_the_suggestion_is_a_conflict_not_a_crash(
    services: Services, coordinator: Coordinator, decide: str
) -> None:
    """Found under load: 20 of 100 approvals answered 500 (StaleDataError) when a rescore
    rewrote the suggestion between the decision's read and its lock."""
    config, clock = services.settings.matching, services.clock
    volunteer = intake.register_volunteer(services.uow(), factories.offer(), clock)
    request = intake.submit_request(services.uow(), factories.team_request(), clock)
    suggestions.suggest_for_request(services.uow(), request.id, config, clock)
    with services.uow() as uow:
        [match] = uow.matches.where(team_request_id=request.id)
    # The volunteer becomes free on Wednesdays only: the next rescore withdraws the suggestion.
    wednesdays = {"availability": [{"day": "wed", "start": "09:00", "end": "17:00"}]}
    intake.update_volunteer(services.uow(), volunteer.id, wednesdays, clock)

    rescore = services.uow()
    with rescore:  # a rescore in flight: it holds the request's lock and has withdrawn the suggestion
        suggestions.rescore_within(rescore, {request.id}, config, clock.now())
        decision = threading.Thread(
            target=lambda: outcome.append(_decide(services, decide, match.id, coordinator)), daemon=True
        )
        outcome: list[Any] = []
        decision.start()
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock(services) and time.monotonic() < deadline:
            time.sleep(0.05)
        rescore.commit()
    decision.join(20)

    [result] = outcome
    assert isinstance(result, Conflict), result
    assert "withdrawn" in str(result)


def _decide(services: Services, decide: str, match_id: str, coordinator: Coordinator) -> Any:
    try:
        if decide == "approve":
            return decisions.approve(services.uow(), match_id, coordinator, services.clock)
        return decisions.reject(services.uow(), match_id, coordinator, "not_a_fit", services.clock)
    except Exception as exc:  # noqa: BLE001 - the outcome under test
        return exc


def test_six_teams_booking_one_free_chat_at_once_get_one_chat_and_five_answers_in_words(
    services: Services, coordinator: Coordinator
) -> None:
    from datetime import timedelta

    from matcher.domain import EventKind
    from matcher.services import team_chats

    starts = services.clock.now() + timedelta(days=2)
    chat = team_chats.publish(
        services.uow(), {"starts_at": starts, "area": "tower_hamlets"}, coordinator, services.clock
    )

    def book(n: int) -> Callable[[], Any]:
        booking = {"team_name": f"Team {n}", "contact": {"name": f"Lead {n}", "email": f"lead{n}@nhs.example"}}
        return lambda: team_chats.book(services.uow(), chat.id, booking, services.clock)

    results = at_once(*(book(n) for n in range(6)))
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, Conflict) and "just been taken" in str(r) for r in results if isinstance(r, Exception))
    with services.uow() as uow:
        owed = [e.data["key"] for e in uow.events.where(kind=EventKind.EMAIL_OWED)]
        assert uow.team_chats.get(chat.id).status == "booked"
    assert sorted(owed) == [f"team_chat:{chat.id}:coordinator", f"team_chat:{chat.id}:team"]


def test_two_coordinators_erasing_one_volunteer_at_once_erase_once_and_the_other_hears_so(
    services: Services, coordinator: Coordinator
) -> None:
    from matcher.services import on_request

    clock = services.clock
    for _ in range(8):
        volunteer = intake.register_volunteer(services.uow(), factories.offer(), clock)
        results = at_once(
            *[lambda v=volunteer.id: on_request.erase_for(services.uow(), v, coordinator, clock) for _ in range(2)]
        )
        refused = [r for r in results if isinstance(r, Exception)]
        assert len(refused) == 1 and isinstance(refused[0], Conflict), results  # a 409 in words, never a 500
        assert services.engine is not None
        with services.engine.connect() as conn:
            logged = conn.execute(
                text("select count(*) from audit_entries where action = 'volunteer.erase' and subject_id = :v"),
                {"v": volunteer.id},
            ).scalar_one()
        assert logged == 1  # one erasure on record, by whoever won
