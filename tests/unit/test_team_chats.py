"""Informal chats about involvement: coordinators publish free half hours, a team books
one, both get a calendar invitation (the real app on SQLite)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar

from matcher.bootstrap import Services
from matcher.domain import EventKind
from matcher.services import coordinators, intake, links, team_chats
from matcher.team_chats import TeamChatStatus
from tests import factories
from tests.fakes import FakeClock
from tests.pages_support import csrf

PASSWORD = "a long passphrase for tests"
BOOKING = {"team_name": "Ward 5 team", "contact": {"name": "Sam Lead", "email": "sam.lead@nhs.example"}}


def token(
    client: FlaskClient, services: Services, email: str = "lead@nhs.example", areas: Any = None
) -> dict[str, str]:
    coordinators.create_coordinator(
        services.uow(), email, PASSWORD, areas or ["tower_hamlets"], services.clock, name="Priya Coordinator"
    )
    got = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert got.status_code == 200, got.json
    return {"Authorization": f"Bearer {got.json['token']}"}


def slot(services: Services, hours: int = 48) -> dict[str, Any]:
    start = (services.clock.now() + timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    return {"starts_at": start.isoformat(), "area": "tower_hamlets", "place": "https://meet.example/priya"}


def owed(services: Services) -> list[str]:
    with services.uow() as uow:
        return sorted(str(e.data["key"]) for e in uow.events.where(kind=EventKind.EMAIL_OWED))


def test_a_team_books_a_published_slot_and_both_sides_are_owed_an_invitation(app: Flask, services: Services) -> None:
    client = app.test_client()
    auth = token(client, services)
    published = client.post("/api/v1/team-chats", json=slot(services), headers=auth)
    assert published.status_code == 201, published.json
    chat_id = published.json["id"]
    assert published.json["status"] == "open"

    [free] = app.test_client().get("/api/v1/team-chats/open?area=tower_hamlets").json
    assert set(free) == {"id", "area", "starts_at", "minutes"}  # times, not who booked what
    assert free["minutes"] == 30

    booked = app.test_client().post(f"/api/v1/team-chats/{chat_id}/booking", json=BOOKING)
    assert booked.status_code == 201, booked.json
    assert owed(services) == [f"team_chat:{chat_id}:coordinator", f"team_chat:{chat_id}:team"]
    assert app.test_client().get("/api/v1/team-chats/open").json == []
    again = app.test_client().post(f"/api/v1/team-chats/{chat_id}/booking", json=BOOKING)
    assert again.status_code == 409 and "just been taken" in again.json["message"]
    [mine] = client.get("/api/v1/team-chats", headers=auth).json
    assert (mine["status"], mine["contact_email"]) == ("booked", "sam.lead@nhs.example")


def test_publishing_refuses_the_past_a_double_booking_and_other_areas(app: Flask, services: Services) -> None:
    client = app.test_client()
    auth = token(client, services)
    past = client.post("/api/v1/team-chats", json=slot(services, hours=-1), headers=auth)
    assert past.status_code == 422 and "starts_at" in past.json["errors"]
    assert client.post("/api/v1/team-chats", json=slot(services), headers=auth).status_code == 201
    overlapping = {**slot(services), "starts_at": slot(services, 48)["starts_at"].replace(":00:00", ":15:00")}
    clash = client.post("/api/v1/team-chats", json=overlapping, headers=auth)
    assert clash.status_code == 422 and "already offer a chat" in clash.json["errors"]["starts_at"][0]
    elsewhere = client.post("/api/v1/team-chats", json={**slot(services, 72), "area": "luton"}, headers=auth)
    assert elsewhere.status_code == 403
    naive = client.post("/api/v1/team-chats", json={**slot(services), "starts_at": "2027-01-05T10:00:00"}, headers=auth)
    assert naive.status_code == 422 and "starts_at" in naive.json["errors"]
    bad_booking = app.test_client().post("/api/v1/team-chats/x/booking", json={"contact": {"email": "no"}})
    assert bad_booking.status_code == 422
    assert {"team_name", "contact.email", "contact.name"} <= set(bad_booking.json["errors"])


def test_the_invitations_carry_one_calendar_entry_and_a_cancellation_removes_it(app: Flask, services: Services) -> None:
    client = app.test_client()
    auth = token(client, services)
    chat_id = client.post("/api/v1/team-chats", json=slot(services), headers=auth).json["id"]
    app.test_client().post(f"/api/v1/team-chats/{chat_id}/booking", json={**BOOKING, "about": "A carers' panel?"})
    with services.uow() as uow:
        chat = uow.team_chats.get(chat_id)
        lead = uow.coordinators.get(chat.coordinator_id)
    team_mail = services.letters.team_chat("team_chat", "team", chat, lead, f"team_chat:{chat_id}:team")
    lead_mail = services.letters.team_chat("team_chat", "coordinator", chat, lead, f"team_chat:{chat_id}:coordinator")
    assert team_mail.to == "sam.lead@nhs.example" and lead_mail.to == "lead@nhs.example"
    assert "Priya Coordinator" in team_mail.text and "A carers' panel?" in lead_mail.text
    invite = Calendar.from_ical(team_mail.attachments[0].data)
    [event] = invite.walk("VEVENT")
    assert str(invite["method"]) == "REQUEST"
    assert event.decoded("dtstart") == chat.starts_at and event.decoded("dtend") == chat.ends_at
    assert {str(a) for a in event.get("attendee")} == {"mailto:sam.lead@nhs.example", "mailto:lead@nhs.example"}

    cancelled = client.post(f"/api/v1/team-chats/{chat_id}/cancel", headers=auth)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert f"team_chat_cancellation:{chat_id}:1:team" in owed(services)
    with services.uow() as uow:
        chat = uow.team_chats.get(chat_id)
    off = services.letters.team_chat("team_chat_cancellation", "team", chat, lead, "k")
    cancel = Calendar.from_ical(off.attachments[0].data)
    [event] = cancel.walk("VEVENT")
    assert (str(cancel["method"]), int(event["sequence"]), str(event["uid"])) == (
        "CANCEL",
        1,
        f"team-chat-{chat_id}@qimatch",
    )


def test_a_team_books_from_its_request_page_and_the_chat_is_on_the_requests_timeline(
    app: Flask, services: Services
) -> None:
    client = app.test_client()
    auth = token(client, services)
    chat_id = client.post("/api/v1/team-chats", json=slot(services), headers=auth).json["id"]
    request = intake.submit_request(services.uow(), factories.team_request(), services.clock)
    secret = links.issue(services.uow(), "request_status", request.id, services.clock)

    team = app.test_client()
    status = team.get(f"/team/status/{secret}").get_data(as_text=True)
    assert f"/team/status/{secret}/chat" in status
    page = f"/team/status/{secret}/chat"
    nothing_chosen = team.post(page, data={"csrf_token": csrf(team, page)})
    assert nothing_chosen.status_code == 422 and "Choose a time" in nothing_chosen.get_data(as_text=True)
    done = team.post(page, data={"csrf_token": csrf(team, page), "chat": chat_id, "about": "Where to start"})
    assert done.status_code == 303
    with services.uow() as uow:
        chat = uow.team_chats.get(chat_id)
        [booked] = uow.events.where(kind=EventKind.TEAM_CHAT_BOOKED)
    assert (chat.status, chat.team_request_id, chat.contact_email) == (
        TeamChatStatus.BOOKED,
        request.id,
        request.contact_email,
    )
    assert booked.team_request_id == request.id
    desk = app.test_client()
    form = {"csrf_token": csrf(desk, "/coordinator/sign-in"), "email": "lead@nhs.example", "password": PASSWORD}
    assert desk.post("/coordinator/sign-in", data=form).status_code == 303
    timeline = desk.get(f"/coordinator/requests/{request.id}").get_data(as_text=True)
    assert "Informal chat about involvement booked" in timeline


def test_a_slot_taken_a_moment_ago_is_a_sentence_on_the_form_not_an_error_page(app: Flask, services: Services) -> None:
    client = app.test_client()
    auth = token(client, services)
    chat_id = client.post("/api/v1/team-chats", json=slot(services), headers=auth).json["id"]
    late = app.test_client()
    form = {"csrf_token": csrf(late, "/team/chat"), "chat": chat_id, "team_name": "Ward 6", "contact.name": "Jo",
            "contact.email": "jo@nhs.example"}  # fmt: skip
    team_chats.book(services.uow(), chat_id, BOOKING, services.clock)  # another team, a moment earlier
    answer = late.post("/team/chat", data=form)
    assert answer.status_code == 422
    assert "That time has just been taken" in answer.get_data(as_text=True)


def test_retention_forgets_who_booked_a_chat_once_it_is_long_past(app: Flask, services: Services) -> None:
    from matcher.config import RetentionPolicy
    from matcher.services import retention

    client = app.test_client()
    auth = token(client, services)
    chat_id = client.post("/api/v1/team-chats", json=slot(services), headers=auth).json["id"]
    team_chats.book(services.uow(), chat_id, {**BOOKING, "about": "Our ward's discharge project"}, services.clock)
    policy = RetentionPolicy(months=24, grace_days=30, batch=200)
    assert retention.dispatch_due(services.uow(), services.clock, policy)["chat_contacts_erased"] == 0
    later = FakeClock(services.clock.now() + timedelta(days=2 * 365 + 40))
    assert retention.dispatch_due(services.uow(), later, policy)["chat_contacts_erased"] == 1
    with services.uow() as uow:
        chat = uow.team_chats.get(chat_id)
    assert (chat.contact_name, chat.contact_email, chat.team_name, chat.about) == (None, None, None, None)
    assert chat.status == TeamChatStatus.BOOKED  # the count of chats held stays
