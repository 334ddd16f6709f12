"""Outreach events as sign-up sources, offers taken in person, meetings people suggest,
and the funnel per source and month (the real app on SQLite)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from matcher.bootstrap import Services
from matcher.domain import Event, EventKind
from matcher.services import coordinators
from tests import factories
from tests.pages_support import csrf, sign_in_coordinator, volunteer_form

PASSWORD = "a long passphrase for tests"
STALL = {"name": "Tower Hamlets wellbeing day", "held_on": "2026-11-14", "area": "tower_hamlets", "kind": "stall"}


def cells_text(html: str) -> str:
    """A page's words with each table cell or summary-list key and value closed by " | "."""
    marked = re.sub(r"</(td|th|dt|dd)>", " | ", html)
    return " ".join(re.sub(r"<[^>]+>", " ", marked).split())


def token(
    client: FlaskClient, services: Services, email: str = "lead@nhs.example", areas: Any = None
) -> dict[str, str]:
    coordinators.create_coordinator(services.uow(), email, PASSWORD, areas or ["tower_hamlets"], services.clock)
    got = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert got.status_code == 200, got.json
    return {"Authorization": f"Bearer {got.json['token']}"}


def count(services: Services, repo: str, **criteria: Any) -> int:
    with services.uow() as uow:
        return int(getattr(uow, repo).count(**criteria))


def test_a_sign_up_through_an_events_link_is_counted_for_that_event(app: Flask, services: Services) -> None:
    client = app.test_client()
    auth = token(client, services)
    made = client.post("/api/v1/outreach-events", json={**STALL, "people_reached": 40}, headers=auth)
    assert made.status_code == 201, made.json
    event = made.json
    assert event["sign_up_url"] == f"http://qimatch.test/join/{event['code']}"
    assert event["sign_ups"] == 0

    # Someone scans the QR code at the stall: the form says where they met us, and carries it.
    form_page = client.get(f"/join/{event['code']}")
    assert form_page.status_code == 200
    assert "Tower Hamlets wellbeing day" in form_page.get_data(as_text=True)
    anon = app.test_client()
    token_field = csrf(anon, f"/join/{event['code']}")
    sent = anon.post("/volunteer/sign-up", data={**volunteer_form(), "source": event["id"], "csrf_token": token_field})
    assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    assert client.get(f"/api/v1/outreach-events/{event['id']}", headers=auth).json["sign_ups"] == 1
    [listed] = client.get("/api/v1/outreach-events", headers=auth).json
    assert (listed["name"], listed["sign_ups"], listed["people_reached"]) == (STALL["name"], 1, 40)


def test_an_event_needs_its_fields_and_one_of_your_areas(app: Flask, services: Services) -> None:
    client = app.test_client()
    auth = token(client, services)
    bad = client.post("/api/v1/outreach-events", json={"name": "Fair", "kind": "party"}, headers=auth)
    assert bad.status_code == 422
    assert {"held_on", "area", "kind"} <= set(bad.json["errors"])
    elsewhere = client.post("/api/v1/outreach-events", json={**STALL, "area": "luton"}, headers=auth)
    assert elsewhere.status_code == 403
    assert count(services, "outreach_events") == 0
    assert client.post("/api/v1/outreach-events", json=STALL).status_code == 401


def test_an_offer_naming_an_unknown_source_is_refused_and_not_stored(app: Flask, services: Services) -> None:
    got = app.test_client().post("/api/v1/volunteers", json={**factories.offer(), "source": "no-such-event"})
    assert got.status_code == 422
    assert "source" in got.json["errors"]
    assert count(services, "volunteers") == 0


def test_an_offer_taken_in_person_records_who_took_the_consent(app: Flask, services: Services) -> None:
    client = app.test_client()
    auth = token(client, services)
    event = client.post("/api/v1/outreach-events", json=STALL, headers=auth).json
    offer = factories.offer(source=event["id"])
    offer["consent"]["assisted"] = True

    # Nobody can claim an assisted consent without signing in.
    anonymous = app.test_client().post("/api/v1/volunteers", json=offer)
    assert anonymous.status_code == 422
    assert "consent.assisted" in anonymous.json["errors"]

    made = client.post("/api/v1/volunteers", json=offer, headers=auth)
    assert made.status_code == 201, made.json
    shown = client.get(f"/api/v1/volunteers/{made.json['id']}", headers=auth).json
    with services.uow() as uow:
        [lead] = uow.coordinators.where(email="lead@nhs.example")
    assert shown["consent"]["assisted_by"] == lead.id
    assert shown["source"] == event["id"]


def test_the_assisted_sign_up_page_records_the_offer_for_the_event(app: Flask, services: Services) -> None:
    client = app.test_client()
    dashboard_csrf = sign_in_coordinator(client, services)
    made = client.post(
        "/coordinator/outreach/new",
        data={**STALL, "people_reached": "25", "csrf_token": dashboard_csrf},
    )
    assert made.status_code == 303
    event_url = made.headers["Location"]
    page = client.get(event_url).get_data(as_text=True)
    assert "/join/" in page and "qr.svg" in page
    sign_up_url = event_url + "/sign-up"
    form = {**volunteer_form(email="met.at.stall@example.org"), "csrf_token": csrf(client, sign_up_url)}
    assert "I have read this to them" in client.get(sign_up_url).get_data(as_text=True)
    taken = client.post(sign_up_url, data=form)
    assert taken.status_code == 303, taken.get_data(as_text=True)[:2000]
    with services.uow() as uow:
        [volunteer] = uow.volunteers.where(email="met.at.stall@example.org")
        [event] = uow.outreach_events.where()
    assert volunteer.source_event_id == event.id
    assert volunteer.consent_assisted_by is not None
    assert "Signed up through its link | 1 |" in cells_text(client.get(event_url).get_data(as_text=True))


def test_qr_codes_come_as_svg_for_print_and_png_for_slides(app: Flask, services: Services) -> None:
    client = app.test_client()
    auth = token(client, services)
    event = client.post("/api/v1/outreach-events", json=STALL, headers=auth).json
    svg = client.get(f"/api/v1/outreach-events/{event['id']}/qr.svg", headers=auth)
    png = client.get(f"/api/v1/outreach-events/{event['id']}/qr.png", headers=auth)
    assert (svg.status_code, svg.mimetype) == (200, "image/svg+xml")
    assert b"<svg" in svg.data and b"Tower Hamlets wellbeing day" in svg.data
    assert (png.status_code, png.mimetype) == (200, "image/png")
    assert png.data.startswith(b"\x89PNG\r\n\x1a\n") and len(png.data) > 200
    assert client.get(f"/api/v1/outreach-events/{event['id']}/qr.gif", headers=auth).status_code == 404


def test_a_suggested_meeting_reaches_its_areas_coordinators_and_forgets_the_address_once_dealt_with(
    app: Flask, services: Services
) -> None:
    client = app.test_client()
    suggestion = {
        "meeting": "Carers' café",
        "area": "tower_hamlets",
        "details": "Every first Monday, 6pm, Bancroft Road library",
        "contact_email": "sam@example.org",
    }
    assert app.test_client().post("/api/v1/meeting-suggestions", json={"meeting": ""}).status_code == 422
    assert count(services, "meeting_suggestions") == 0
    assert app.test_client().post("/api/v1/meeting-suggestions", json=suggestion).status_code == 201
    elsewhere = token(client, services, "luton@nhs.example", ["luton"])
    assert client.get("/api/v1/meeting-suggestions", headers=elsewhere).json == []
    auth = token(client, services)
    [listed] = client.get("/api/v1/meeting-suggestions", headers=auth).json
    assert listed["contact_email"] == "sam@example.org"
    handled = client.post(f"/api/v1/meeting-suggestions/{listed['id']}/handled", headers=auth)
    assert handled.status_code == 200 and handled.json["contact_email"] is None
    assert client.get("/api/v1/meeting-suggestions", headers=auth).json == []


def test_the_public_form_for_suggesting_a_meeting_names_missing_fields(app: Flask, services: Services) -> None:
    client = app.test_client()
    form = {"csrf_token": csrf(client, "/suggest-a-meeting"), "meeting": "Hearing voices group"}
    refused = client.post("/suggest-a-meeting", data=form)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'href="#f-area"' in text and 'href="#f-details"' in text and "Hearing voices group" in text
    sent = client.post("/suggest-a-meeting", data={**form, "area": "tower_hamlets", "details": "Thursdays 2pm"})
    assert sent.status_code == 303
    assert count(services, "meeting_suggestions") == 1


def test_the_funnel_follows_each_source_from_sign_up_to_a_second_involvement(app: Flask, services: Services) -> None:
    client = app.test_client()
    auth = token(client, services)
    event = client.post("/api/v1/outreach-events", json=STALL, headers=auth).json
    at_stall = [
        client.post("/api/v1/volunteers", json=factories.offer(source=event["id"])).json["id"] for _ in range(3)
    ]
    direct = client.post("/api/v1/volunteers", json=factories.offer()).json["id"]
    now = services.clock.now()
    with services.uow() as uow:
        # The first stall volunteer was suggested and introduced twice; the second suggested once.
        for volunteer_id, kind, match in [
            (at_stall[0], EventKind.MATCH_SUGGESTED, "m1"),
            (at_stall[0], EventKind.MATCH_INTRODUCED, "m1"),
            (at_stall[0], EventKind.MATCH_INTRODUCED, "m2"),
            (at_stall[1], EventKind.MATCH_SUGGESTED, "m3"),
            (direct, EventKind.MATCH_SUGGESTED, "m4"),
        ]:
            uow.events.add(Event(kind, now + timedelta(days=1), volunteer_id=volunteer_id, match_id=match))
        uow.commit()
    rows = {r["source"]: r for r in client.get("/api/v1/programme/funnel", headers=auth).json}
    stall = rows[event["id"]]
    assert (stall["signed_up"], stall["suggested"], stall["introduced"], stall["involved_again"]) == (3, 2, 1, 1)
    assert stall["source_name"] == STALL["name"]
    assert (rows["direct"]["signed_up"], rows["direct"]["suggested"], rows["direct"]["introduced"]) == (1, 1, 0)
    # The programme page shows the same, by source.


def test_the_programme_page_shows_sign_ups_by_source(app: Flask, services: Services) -> None:
    client = app.test_client()
    sign_in_coordinator(client, services)
    with services.uow() as uow:
        lead = uow.coordinators.where()[0]
    from matcher.services import outreach
    from web.outreach_schemas import OutreachEventIn

    event = outreach.record_event(services.uow(), OutreachEventIn().load(STALL), lead, services.clock)
    anon = app.test_client()
    for n in range(2):
        data = {**volunteer_form(email=f"p{n}@example.org"), "source": event.id}
        assert (
            anon.post("/volunteer/sign-up", data={**data, "csrf_token": csrf(anon, "/volunteer/sign-up")}).status_code
            == 303
        )
    page = client.get("/coordinator/programme").get_data(as_text=True)
    assert "Where volunteers came from" in page
    assert "| Tower Hamlets wellbeing day | 2 |" in cells_text(page)


def test_the_volunteers_own_download_says_where_they_signed_up_and_who_took_their_consent(
    app: Flask, services: Services
) -> None:
    from matcher.services import volunteer_self

    client = app.test_client()
    auth = token(client, services)
    event = client.post("/api/v1/outreach-events", json=STALL, headers=auth).json
    offer = factories.offer(source=event["id"])
    offer["consent"]["assisted"] = True
    volunteer_id = client.post("/api/v1/volunteers", json=offer, headers=auth).json["id"]
    exported = volunteer_self.export(services.uow(), volunteer_id, services.clock)["offer"]
    assert exported["source"] == {"outreach_event": STALL["name"], "held_on": STALL["held_on"]}
    assert exported["consent_assisted_by"]
    # Erased, the person goes; the event still counts them.
    volunteer_self.erase(services.uow(), volunteer_id, services.clock)
    assert client.get(f"/api/v1/outreach-events/{event['id']}", headers=auth).json["sign_ups"] == 1
