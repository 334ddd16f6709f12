"""Sessions on real parts: PostgreSQL, Redis, a Celery worker, the SMTP sink.

Many people take the last places at once and the capacity holds; a volunteer books
from their private link and the calendar invitation arrives, then its cancellation and
the next person's invitation; the reminder the day before goes once; attendance marked
through the API verifies the training, and the role that needs it brings a new suggestion.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import text

from matcher.bootstrap import Services
from matcher.domain import Coordinator, TokenPurpose
from matcher.errors import Conflict
from matcher.programme_sessions import BookingStatus
from matcher.services import intake, links, sessions
from tests import factories
from tests.fakes import FakeClock
from tests.integration.conftest import Processes, eventually
from tests.integration.test_races import at_once
from tests.pages_support import csrf
from tests.real_parts import Received, SmtpSink

pytestmark = pytest.mark.integration


@pytest.fixture
def lead(services: Services, clean: None) -> Coordinator:
    c = Coordinator(
        email="lead@nhs.example", password_hash="-", areas=["tower_hamlets"], created_at=services.clock.now()
    )
    with services.uow() as uow:
        uow.coordinators.add(c)
        uow.commit()
    return c


def session_fields(**overrides: Any) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    fields = {
        "kind": "qi_introduction",
        "area": "tower_hamlets",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "venue": "Mile End Hospital, room 4",
        "capacity": 3,
        "training": "qi_introduction",
    }
    return {**fields, **overrides}


def test_many_booking_the_last_places_at_once_never_exceed_the_capacity(services: Services, lead: Coordinator) -> None:
    config, clock = services.settings.matching, services.clock
    session = sessions.schedule(services.uow(), session_fields(capacity=3), lead, clock)
    people = [intake.register_volunteer(services.uow(), factories.offer(), clock) for _ in range(12)]
    outcomes = at_once(*[lambda v=v: sessions.book(services.uow(), session.id, v.id, clock, config) for v in people])
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes  # nobody turned away with an error
    with services.uow() as uow:
        assert uow.bookings.count(session_id=session.id, status=BookingStatus.BOOKED) == 3
        assert uow.bookings.count(session_id=session.id, status=BookingStatus.WAITING) == 9
        booked = [b.volunteer_id for b in uow.bookings.where(session_id=session.id, status=BookingStatus.BOOKED)]
    # Places given back while others book: the waiting list fills them, still never above 3.
    late = [intake.register_volunteer(services.uow(), factories.offer(), clock) for _ in range(4)]
    outcomes = at_once(
        *[lambda v=v: sessions.cancel_booking(services.uow(), session.id, v, clock, config) for v in booked],
        *[lambda v=v: sessions.book(services.uow(), session.id, v.id, clock, config) for v in late],
    )
    assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, Conflict)], outcomes
    with services.uow() as uow:
        now_booked = uow.bookings.where(session_id=session.id, status=BookingStatus.BOOKED)
        assert len(now_booked) == 3
        # The three who moved up were on the waiting list first, not the late arrivals.
        assert {b.volunteer_id for b in now_booked}.isdisjoint({v.id for v in late})
        assert all(b.from_waiting_list for b in now_booked)


def volunteer_signed_in(app: Any, services: Services, offer: dict[str, Any]) -> tuple[FlaskClient, str]:
    volunteer = intake.register_volunteer(services.uow(), offer, services.clock)
    secret = links.issue(services.uow(), TokenPurpose.VOLUNTEER_LINK, volunteer.id, services.clock)
    client = app.test_client()
    opened = client.post(f"/v/{secret}", data={"csrf_token": csrf(client, f"/v/{secret}")})
    assert opened.status_code == 303
    return client, volunteer.id


def calendar_of(received: Received) -> tuple[str, Any]:
    cal = Calendar.from_ical(received.part("text/calendar"))
    return str(cal["method"]), cal.walk("VEVENT")[0]


def test_a_volunteer_books_from_their_link_and_the_invitation_arrives(
    app: Any, services: Services, processes: Processes, smtp: SmtpSink, lead: Coordinator
) -> None:
    processes.worker()
    session = sessions.schedule(services.uow(), session_fields(capacity=1), lead, services.clock)
    amina, amina_id = volunteer_signed_in(app, services, factories.offer(name="Amina Begum", email="amina@example.org"))
    bob, _ = volunteer_signed_in(app, services, factories.offer(name="Bob Jones", email="bob@example.org"))

    for client in (amina, bob):
        booked = client.post(f"/me/sessions/{session.id}/book", data={"csrf_token": csrf(client, "/me")})
        assert booked.status_code == 303
    invitation = eventually(lambda: smtp.to("amina@example.org"), seconds=60)[0]
    method, event = calendar_of(invitation)
    assert method == "REQUEST" and "QI introduction" in str(event["summary"])
    assert "Mile End Hospital" in str(event["location"])
    assert (
        "on its waiting list"
        in eventually(lambda: smtp.to("bob@example.org"), seconds=60)[0].part("text/plain").decode()
    )

    # Amina cancels: her calendar entry is cancelled, and Bob moves up with his own invitation.
    gone = amina.post(f"/me/sessions/{session.id}/cancel", data={"csrf_token": csrf(amina, "/me")})
    assert gone.status_code == 303
    cancel = eventually(lambda: [r for r in smtp.to("amina@example.org") if r.part("text/calendar")][1:], seconds=60)[0]
    method, cancelled = calendar_of(cancel)
    assert method == "CANCEL" and cancelled["uid"] == event["uid"] and cancelled["sequence"] > event["sequence"]
    moved_up = eventually(lambda: [r for r in smtp.to("bob@example.org") if r.part("text/calendar")], seconds=60)[0]
    assert "moved up from the waiting list" in moved_up.part("text/plain").decode()

    # The day before: the dispatcher (beat's task) owes Bob's reminder once; the worker sends it.
    day_before = FakeClock(session.starts_at - timedelta(hours=20))
    assert sessions.dispatch_reminders(services.uow(), day_before) == 1
    assert sessions.dispatch_reminders(services.uow(), day_before) == 0
    reminders = eventually(
        lambda: [r for r in smtp.to("bob@example.org") if r.message["Subject"].startswith("Reminder")], seconds=60
    )
    assert len(reminders) == 1
    with services.uow() as uow:
        kinds = [e.kind for e in uow.events.where(volunteer_id=amina_id, order_by="id")]
    assert "session.booked" in kinds and "session.booking_cancelled" in kinds


def sign_in_api(client: FlaskClient, services: Services) -> dict[str, str]:
    from matcher.services import coordinators

    coordinators.create_coordinator(
        services.uow(), "api@nhs.example", "correct horse battery", ["tower_hamlets"], services.clock
    )
    token = client.post("/api/v1/auth/token", json={"email": "api@nhs.example", "password": "correct horse battery"})
    return {"Authorization": f"Bearer {token.json['token']}"}


def test_attendance_unlocks_the_role_and_a_new_suggestion_appears(
    app: Any, services: Services, processes: Processes, lead: Coordinator
) -> None:
    processes.worker()
    api = app.test_client()
    auth = sign_in_api(api, services)
    # She declares the QI introduction; by default a declared training does not pass the gate.
    offer = factories.offer(name="Amina Begum", roles=["project_team_member"], trainings=[{"code": "qi_introduction"}])
    mine, amina = volunteer_signed_in(app, services, offer)
    request = api.post(
        "/api/v1/team-requests", json=factories.team_request(roles=[{"role": "project_team_member", "count": 1}])
    ).json["id"]

    def rescores_done() -> bool:
        with services.engine.connect() as conn:  # type: ignore[union-attr]
            return conn.execute(text("SELECT count(*) FROM rescores_due")).scalar_one() == 0

    eventually(rescores_done, seconds=60)
    assert api.get(f"/api/v1/team-requests/{request}/suggestions", headers=auth).json == []
    why = api.get(f"/api/v1/team-requests/{request}/why-not?volunteer_id={amina}", headers=auth).json
    assert [r["rule"] for r in why["roles"]["project_team_member"]] == ["missing_training"]

    body = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in session_fields().items()}
    made = api.post("/api/v1/sessions", json=body, headers=auth)
    assert made.status_code == 201, made.json
    booked = mine.post(f"/me/sessions/{made.json['id']}/book", data={"csrf_token": csrf(mine, "/me")})
    assert booked.status_code == 303
    with services.engine.begin() as conn:  # type: ignore[union-attr]  # the session took place this morning
        conn.execute(text("UPDATE programme_sessions SET starts_at = starts_at - interval '3 days'"))
    marked = api.post(
        f"/api/v1/sessions/{made.json['id']}/attendance",
        json={"marks": [{"volunteer_id": amina, "attended": True}]},
        headers=auth,
    )
    assert marked.status_code == 200, marked.json
    assert marked.json[0]["attended"] is True and marked.json[0]["attendance_by"]

    def suggested() -> list[Any]:
        return api.get(f"/api/v1/team-requests/{request}/suggestions", headers=auth).json

    found = eventually(suggested, seconds=60)
    assert [(s["volunteer_id"], s["role"]) for s in found] == [(amina, "project_team_member")]
    shown = api.get(f"/api/v1/volunteers/{amina}", headers=auth).json
    (training,) = shown["trainings"]
    assert training["verified_on"] and training["session_id"] == made.json["id"]
