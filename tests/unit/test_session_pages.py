"""Session pages on the real app (SQLite): a coordinator schedules one by form, a volunteer
books it from their own page, the coordinator sees the booking and marks attendance."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from matcher.domain import TokenPurpose
from matcher.scheduling import LONDON
from matcher.services import intake, links
from tests import factories
from tests.pages_support import csrf, sign_in_coordinator


def test_schedule_book_and_mark_attendance_on_the_pages(app, services) -> None:
    lead = app.test_client()
    token = sign_in_coordinator(lead, services)
    start = (services.clock.now() + timedelta(days=4)).astimezone(LONDON).replace(second=0, microsecond=0)
    form = {
        "csrf_token": token,
        "kind": "qi_introduction",
        "area": "tower_hamlets",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "venue": "Mile End Hospital, room 4",
        "capacity": "5",
        "training": "qi_introduction",
    }
    bad = lead.post("/coordinator/sessions", data={**form, "capacity": "0", "venue": ""})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "Between 1 and 500 places" in body and "Give a place" in body
    # Nothing chosen: the page says what to choose, not the API's list of codes.
    unchosen = lead.post("/coordinator/sessions", data={**form, "kind": "", "area": ""}).get_data(as_text=True)
    assert "Choose what kind of session it is." in unchosen and "Choose one of your areas." in unchosen
    assert "Must be one of" not in unchosen and "/api/v1/taxonomy" not in unchosen
    made = lead.post("/coordinator/sessions", data=form)
    assert made.status_code == 303, made.get_data(as_text=True)[:2000]
    session_path = made.headers["Location"]

    volunteer = intake.register_volunteer(services.uow(), factories.offer(name="Amina Begum"), services.clock)
    secret = links.issue(services.uow(), TokenPurpose.VOLUNTEER_LINK, volunteer.id, services.clock)
    mine = app.test_client()
    mine.post(f"/v/{secret}", data={"csrf_token": csrf(mine, f"/v/{secret}")})
    page = mine.get("/me").get_data(as_text=True)
    assert "QI introduction" in page and "5 places left" in page
    session_id = session_path.rstrip("/").split("/")[-1]
    booked = mine.post(f"/me/sessions/{session_id}/book", data={"csrf_token": csrf(mine, "/me")})
    assert booked.status_code == 303
    assert "Cancel my place" in mine.get("/me").get_data(as_text=True)

    shown = lead.get(session_path).get_data(as_text=True)
    assert "Amina Begum" in shown and "Attendance can be marked once the session has begun" in shown
    with services.engine.begin() as conn:  # the session has begun
        conn.execute(
            text("UPDATE programme_sessions SET starts_at = :at"),
            {"at": (start - timedelta(days=5)).replace(tzinfo=None)},
        )
    marked = lead.post(f"{session_path}/attendance", data={"csrf_token": token, "attended": volunteer.id})
    assert marked.status_code == 303
    with services.uow() as uow:
        assert uow.volunteers.get(volunteer.id).verified_training_codes == {"qi_introduction"}
    assert "Verified" in mine.get("/me").get_data(as_text=True)


def test_more_places_on_the_page_move_the_waiting_list_up(app, services) -> None:
    from matcher.programme_sessions import BookingStatus
    from matcher.services import sessions

    lead = app.test_client()
    token = sign_in_coordinator(lead, services)
    with services.uow() as uow:
        coordinator = uow.coordinators.where()[0]
    start = services.clock.now() + timedelta(days=4)
    fields = {"kind": "introductory_session", "area": "tower_hamlets", "starts_at": start,
              "ends_at": start + timedelta(hours=1), "venue": "Bow library", "capacity": 1}  # fmt: skip
    made = sessions.schedule(services.uow(), fields, coordinator, services.clock)
    people = [intake.register_volunteer(services.uow(), factories.offer(), services.clock) for _ in range(2)]
    for v in people:
        sessions.book(services.uow(), made.id, v.id, services.clock, services.settings.matching)
    page = lead.get(f"/coordinator/sessions/{made.id}").get_data(as_text=True)
    assert "Waiting list" in page and "Change when, where or how many" in page
    form = {
        "csrf_token": token,
        "starts_at": start.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=1)).astimezone(LONDON).strftime("%Y-%m-%dT%H:%M"),
        "venue": "Bow library",
        "capacity": "0",
    }
    lead.post(f"/coordinator/sessions/{made.id}/change", data=form)
    assert "Not saved (capacity)" in lead.get(f"/coordinator/sessions/{made.id}").get_data(as_text=True)
    saved = lead.post(f"/coordinator/sessions/{made.id}/change", data={**form, "capacity": "2"})
    assert saved.status_code == 303
    with services.uow() as uow:
        assert {b.status for b in uow.bookings.where(session_id=made.id)} == {BookingStatus.BOOKED}
        # Only the person who moved up is sent an invitation: the times were left as shown.
        owed = [e.data["key"] for e in uow.events.where(kind="email.owed")]
    assert len([k for k in owed if ":invitation:" in k]) == 2
