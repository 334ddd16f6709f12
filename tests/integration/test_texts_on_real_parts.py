"""Texts to a phone-preferring volunteer, on the real parts: PostgreSQL, Redis, Celery worker
processes, the SMTP sink, and a local GOV.UK Notify that checks the client's JWT."""

from __future__ import annotations

import uuid

from flask import Flask

from matcher.adapters.texters import NotifyTexter
from matcher.bootstrap import Services
from matcher.domain import Coordinator, EventKind, MatchStatus
from matcher.ports import NotSent
from matcher.services import decisions, intake, introductions, texts, volunteer_self
from tests import factories
from tests.integration.conftest import NOTIFY_CALLBACK_TOKEN, NOTIFY_TEMPLATE, Processes, eventually
from tests.notify_server import NotifyServer
from tests.real_parts import SmtpSink
from web.pages import describe

MOBILE = "07700 900 982"


def approve(services: Services, **offer: str) -> tuple[str, str]:
    """A volunteer with ``offer``'s contact details matched by a coordinator: (match, volunteer)."""
    coordinator = Coordinator(
        email=f"lead{uuid.uuid4().hex[:8]}@nhs.example", password_hash="-", areas=["tower_hamlets"],
        created_at=services.clock.now(),
    )  # fmt: skip
    with services.uow() as uow:
        uow.coordinators.add(coordinator)
        uow.commit()
    clock, config = services.clock, services.settings.matching
    volunteer = intake.register_volunteer(services.uow(), factories.offer(**offer), clock)
    request = intake.submit_request(services.uow(), factories.team_request(), clock)
    match = decisions.make_match(services.uow(), request.id, volunteer.id, "focus_group", coordinator, config, clock)
    return match.id, volunteer.id


def text_key(match_id: str) -> str:
    return texts.key_for(introductions.delivery_key(match_id, "volunteer"))


def test_a_phone_preferring_volunteer_gets_the_introduction_by_text_and_email_once(
    services: Services, worker: Processes, smtp: SmtpSink, notify: NotifyServer
) -> None:
    match_id, _ = approve(services, phone=MOBILE, preferred_contact="phone")

    eventually(lambda: len(notify.received) == 1 and len(smtp.received) == 2, seconds=60)
    (text,) = notify.received
    assert text.phone_number == "+447700900982"  # E.164, as Notify wants
    assert text.reference == text_key(match_id)
    assert text.template_id == NOTIFY_TEMPLATE
    assert "http://qimatch.test/v/" in text.body and "introductory chat is" in text.body
    assert texts.length(text.body) <= texts.MOST  # two fragments at most
    eventually(lambda: services.uow().deliveries.status(text_key(match_id)) == "sent", seconds=10)
    (row,) = services.uow().deliveries.listed([text_key(match_id)])
    assert row.message_id == text.id  # Notify's notification id, kept for its receipts
    # The email still went (it carries the calendar invitation), and the match moved on.
    def introduced() -> bool:
        with services.uow() as uow:
            return uow.matches.count(id=match_id, status=MatchStatus.INTRODUCED) == 1

    eventually(introduced, seconds=30)


def test_a_landline_or_an_email_preference_gets_no_text(
    services: Services, worker: Processes, smtp: SmtpSink, notify: NotifyServer
) -> None:
    approve(services, phone="020 7946 0000", preferred_contact="phone")  # a landline: rung, not texted
    approve(services, phone=MOBILE, preferred_contact="email")
    eventually(lambda: len(smtp.received) == 4, seconds=60)
    assert notify.received == []
    with services.uow() as uow:
        assert uow.events.count(kind=EventKind.TEXT_OWED) == 0


def test_a_wrong_key_is_refused_by_notify_and_the_text_is_not_marked_sent(
    services: Services, clean: None, notify: NotifyServer
) -> None:
    match_id, _ = approve(services, phone=MOBILE, preferred_contact="phone")
    wrong = NotifyTexter(notify.wrong_key(), NOTIFY_TEMPLATE, notify.url, timeout=5)
    settings = services.settings
    try:
        texts.send_owed(
            services.uow(), wrong, text_key(match_id), services.clock, settings.matching,
            settings.delivery_lease_seconds, settings.base_url,
        )  # fmt: skip
        raise AssertionError("a text sent with a wrong key")
    except NotSent as refusal:
        assert refusal.code == 403 and not refusal.permanent
    assert notify.refused_tokens == 1 and notify.received == []
    # Claimed, not sent: the sweep tries again after the lease (and gives up, on the timeline, after five).
    assert services.uow().deliveries.status(text_key(match_id)) == "claimed"
    sent = texts.send_owed(
        services.uow(), services.texts, text_key(match_id), services.clock, settings.matching, 0, settings.base_url
    )
    assert sent == 1 and len(notify.received) == 1


def test_notify_receipts_need_the_callback_token_and_a_permanent_failure_shows_on_the_timeline(
    services: Services, app: Flask, notify: NotifyServer
) -> None:
    match_id, volunteer_id = approve(services, phone=MOBILE, preferred_contact="phone")
    send_the_text(services, match_id)
    (text,) = notify.received
    client = app.test_client()
    receipt = {"id": text.id, "reference": text.reference, "to": "+447700900982", "status": "permanent-failure",
               "notification_type": "sms", "created_at": "2026-03-02T09:00:00.000000Z"}  # fmt: skip

    assert client.post("/api/v1/notify/receipts", json=receipt).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.post("/api/v1/notify/receipts", json=receipt, headers=wrong).status_code == 401
    right = {"Authorization": f"Bearer {NOTIFY_CALLBACK_TOKEN}"}
    answer = client.post("/api/v1/notify/receipts", json=receipt, headers=right)
    assert answer.status_code == 200 and answer.get_json() == {"recorded": True}
    again = client.post("/api/v1/notify/receipts", json=receipt, headers=right)
    assert again.get_json() == {"recorded": False}  # Notify's retry: kept once, on the timeline once
    bad = client.post("/api/v1/notify/receipts", json={"id": text.id, "status": "lost"}, headers=right)
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]

    with services.uow() as uow:
        (event,) = uow.events.where(kind=EventKind.TEXT_UNDELIVERED, volunteer_id=volunteer_id)
        assert event.match_id == match_id
        words = describe(event)
    assert words == (
        "The introduction text to the mobile ending 982 was not delivered: "
        "the number is not in use, or is wrong; check it with them"
    )
    (row,) = services.uow().deliveries.listed([text_key(match_id)])
    assert row.receipt == "permanent-failure"


def test_export_lists_the_texts_and_erasure_clears_the_number(services: Services, clean: None) -> None:
    match_id, volunteer_id = approve(services, phone=MOBILE, preferred_contact="phone")
    send_the_text(services, match_id)
    exported = volunteer_self.export(services.uow(), volunteer_id, services.clock)
    (sent,) = exported["texts"]
    assert sent["kind"] == "introduction" and sent["status"] == "sent" and sent["notification_id"]
    volunteer_self.erase(services.uow(), volunteer_id, services.clock, services.mailer, texter=services.texts)
    with services.uow() as uow:
        v = uow.volunteers.get(volunteer_id)
        assert v is not None and v.phone is None


def send_the_text(services: Services, match_id: str) -> None:
    """What the worker's ``qimatch.send_text`` does for the match's introduction text, in this process."""
    settings = services.settings
    texts.send_owed(
        services.uow(), services.texts, text_key(match_id), services.clock, settings.matching,
        settings.delivery_lease_seconds, settings.base_url,
    )  # fmt: skip
