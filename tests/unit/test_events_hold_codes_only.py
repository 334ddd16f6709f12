"""Event data holds codes only: nothing a person or a coordinator typed outlives erasure there.

Found by a security review: erasure kept a coordinator's free-text closing reason in
``events.data`` (fixed by migration 0009). These tests walk the whole life of a match on
the real store, with words in every free-text field, and read the events table after.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from matcher.bootstrap import Services
from matcher.config import MatchingConfig, RetentionPolicy
from matcher.domain import Coordinator, Event, EventKind
from matcher.services import decisions, endings, intake, meetings, retention, volunteer_self
from tests import factories

# Words that only a person or a coordinator typed, one per free-text field.
TYPED = {
    "name": "Philippa Wolstenholme",
    "email": "philippa.wolstenholme@example.org",
    "access_needs": "needs a quiet room, tinnitus",
    "exclusions": "not the Mile End ward where I was treated",
    "reject_reason": "met her at a ward round last year",
    "close_reason": "Philippa moved to Leeds",
    "venue": "Philippa's kitchen table",
}


def _coordinator(services: Services) -> Coordinator:
    with services.uow() as uow:
        c = factories.coordinator()
        uow.coordinators.add(c)
        uow.commit()
    return c


def _events_text(services: Services) -> str:
    assert services.engine is not None
    with services.engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, data FROM events")).all()
    return json.dumps([[kind, data if isinstance(data, str) else json.dumps(data)] for kind, data in rows]).lower()


def test_after_erasure_no_typed_words_about_the_volunteer_remain_in_the_events_table(services: Services) -> None:
    s, config = services, MatchingConfig()
    coordinator = _coordinator(s)
    volunteer = intake.register_volunteer(
        s.uow(),
        factories.offer(
            name=TYPED["name"],
            email=TYPED["email"],
            access_needs=TYPED["access_needs"],
            exclusions=TYPED["exclusions"],
        ),
        s.clock,
    )
    kept = intake.submit_request(s.uow(), factories.team_request(), s.clock)
    turned_down = intake.submit_request(s.uow(), factories.team_request(), s.clock)
    excluded = intake.submit_request(s.uow(), factories.team_request(), s.clock)
    # A coordinator's own match, its chat arranged at a place they typed, then closed with their words.
    match = decisions.make_match(s.uow(), kept.id, volunteer.id, "focus_group", coordinator, config, s.clock)
    meetings.set_meeting(
        s.uow(),
        match.id,
        coordinator,
        {"intro_at": s.clock.now() + timedelta(days=3), "venue": TYPED["venue"]},
        s.clock,
        config,
    )
    endings.close_match(s.uow(), match.id, coordinator, TYPED["close_reason"], s.clock)
    # A suggestion turned down with a reason, and another whose team the volunteer excluded.
    for request in (turned_down, excluded):
        with s.uow() as uow:
            uow.matches.add(factories.match(volunteer, request, created_at=s.clock.now(), updated_at=s.clock.now()))
            uow.commit()
    with s.uow() as uow:
        suggestion, other = (uow.matches.where(team_request_id=r.id)[0].id for r in (turned_down, excluded))
    decisions.reject(s.uow(), suggestion, coordinator, TYPED["reject_reason"], s.clock)
    decisions.exclude_team(s.uow(), other, coordinator, s.clock)
    intake.update_volunteer(s.uow(), volunteer.id, {"access_needs": TYPED["access_needs"] + ", and a ramp"}, s.clock)

    volunteer_self.erase(s.uow(), volunteer.id, s.clock)

    events = _events_text(s)
    assert EventKind.VOLUNTEER_ERASED in events and EventKind.MATCH_CLOSED in events
    for field, words in TYPED.items():
        for word in words.lower().replace(",", "").replace("'", " ").split():
            if len(word) > 4 and word not in {"needs", "where", "treated", "table", "round"}:
                assert word not in events, f"{field} ({word!r}) is still in the events table"


def test_after_a_closed_requests_contact_is_erased_none_of_it_remains(services: Services) -> None:
    s = services
    coordinator = _coordinator(s)
    contact = {"name": "Theodora Quarrington", "email": "t.quarrington@nhs.example"}
    request = intake.submit_request(
        s.uow(), factories.team_request(contact=contact, notes="ring Theodora Quarrington first"), s.clock
    )
    endings.close_request(s.uow(), request.id, coordinator, s.clock)
    # Closed for longer than the retention period: the contact is anonymised.
    later = s.clock.now() + timedelta(days=1)
    assert retention.erase_closed_contacts(s.uow(), s.clock, RetentionPolicy(), later) == 1

    events = _events_text(s)
    assert "quarrington" not in events and EventKind.REQUEST_CONTACT_ERASED in events
    assert s.engine is not None
    with s.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM team_requests WHERE id = :id"), {"id": request.id}).one()
    assert "quarrington" not in json.dumps([str(v) for v in row]).lower()


@pytest.mark.parametrize(
    "data",
    [
        {"reason": "Philippa moved to Leeds"},
        {"by": "lead@nhs.example"},
        {"rules": ["at_capacity", "not my own care team"]},
        {"note": {"text": "said she was unwell"}},
    ],
)
def test_an_event_refuses_free_text_in_its_data(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="codes only"):
        factories.event(EventKind.MATCH_CLOSED, data=data)


def test_an_event_takes_ids_codes_keys_times_and_numbers() -> None:
    event = Event(
        EventKind.FOLLOW_UP_SCHEDULED,
        factories.AT,
        data={
            "sequence": 2,
            "score": 0.75,
            "due_at": factories.AT.isoformat(),
            "key": "private_link:volunteer_link:0123abcd:ff00",
            "rules": ["at_capacity", "time_clash"],
            "by": "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            "active": False,
            "until": None,
        },
    )
    assert event.data["sequence"] == 2
