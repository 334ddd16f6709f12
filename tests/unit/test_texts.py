"""Phone numbers and texts: checked, stored and shown; short; through the one delivery loop."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from matcher import phones
from matcher.adapters.texters import FolderTexter
from matcher.bootstrap import Services
from matcher.config import MatchingConfig
from matcher.domain import Coordinator, EventKind
from matcher.ports import Text
from matcher.services import decisions, intake, introductions, outgoing, texts
from tests import factories
from tests.fakes import FakeClock, FakeTexter, FakeUnitOfWork
from tests.pages_support import csrf, volunteer_form

CONFIG = MatchingConfig()
LEASE = 60
BASE = "https://involvement.some-long-trust-name.nhs.uk/qimatch"


@pytest.mark.parametrize(
    ("typed", "stored", "shown", "mobile"),
    [
        ("07700 900 982", "+447700900982", "07700 900982", True),
        ("+44 (0)7911 123456", "+447911123456", "07911 123456", True),
        ("0044 7911 123456", "+447911123456", "07911 123456", True),
        ("020 7946 0000", "+442079460000", "020 7946 0000", False),  # a landline: rung, never texted
    ],
)
def test_uk_numbers_are_stored_in_e164_and_shown_nationally(typed: str, stored: str, shown: str, mobile: bool) -> None:
    assert phones.normalise(typed) == stored
    assert phones.national(stored) == shown
    assert (phones.mobile(stored) == stored) is mobile


@pytest.mark.parametrize("typed", ["12345", "+1 202 555 0100", "07700 9009", "call me", "0800 00000000000"])
def test_a_number_that_is_not_a_uk_one_is_refused_saying_how_to_fix_it(typed: str) -> None:
    with pytest.raises(ValueError, match="Enter a UK phone number, like 07700 900 982"):
        phones.normalise(typed)


def test_a_number_stored_before_numbers_were_checked_is_shown_as_it_was_and_gets_no_text() -> None:
    assert phones.national("ring after 6 (0207...)") == "ring after 6 (0207...)"
    assert phones.mobile("ring after 6 (0207...)") is None
    assert texts.wants_texts(factories.volunteer(phone="(0) 7700-900-x", preferred_contact="phone")) is None


def test_the_api_refuses_a_bad_number_naming_phone_and_stores_a_good_one_in_e164(
    app: Flask, services: Services
) -> None:
    client = app.test_client()
    bad = client.post("/api/v1/volunteers", json=factories.offer(phone="12345"))
    assert bad.status_code == 422
    assert bad.json["errors"]["phone"] == [
        "Enter a UK phone number, like 07700 900 982 (a mobile, for texts) or 020 7946 0000."
    ]
    good = client.post("/api/v1/volunteers", json=factories.offer(phone="07700 900 982", preferred_contact="phone"))
    assert good.status_code == 201, good.json
    with services.uow() as uow:
        (stored,) = uow.volunteers.where(email=good.json["email"]) if "email" in good.json else uow.volunteers.where()
        assert stored.phone == "+447700900982"


def test_the_sign_up_form_names_phone_and_says_how_to_fix_it(app: Flask) -> None:
    client = app.test_client()
    token = csrf(client, "/volunteer/sign-up")
    form = volunteer_form(csrf_token=token, phone="12345", preferred_contact="phone")
    page = client.post("/volunteer/sign-up", data=form).get_data(as_text=True)
    assert "Enter a UK phone number, like 07700 900 982" in page
    assert 'href="#f-phone"' in page and 'id="f-phone-error"' in page  # the summary links to the field


@pytest.mark.parametrize("base", ["http://127.0.0.1:5000", BASE])
def test_a_text_fits_in_two_fragments_however_long_the_names(base: str) -> None:
    long_name = "The Royal London Hospital’s Acute Medicine and Frailty Improvement Collaborative — Ward 5 “Bluebell”"
    when = "Tue 3 Mar at 2:30pm"
    body = texts.fit(
        texts.INTRODUCTION.replace("{when}", when), f"{base}/v/{'x' * 43}", team=long_name, project=long_name
    )
    assert texts.length(body) <= texts.MOST and texts.fragments(body) <= 2
    assert when in body and f"{base}/v/{'x' * 43}" in body  # the time and the link are never cut
    assert body == texts.gsm(body)  # GSM characters only: no curly quotes or dashes to make it UCS-2


def test_the_folder_texter_writes_one_file_per_text_named_by_its_key_and_a_repeat_shows(tmp_path: Path) -> None:
    texter = FolderTexter(tmp_path / "sms")
    text = Text(to="+447700900982", body="Hello", reference="text:introduction:m1:volunteer")
    first = texter.send(text)
    second = texter.send(text)  # only a bug would do this: it must be visible
    assert sorted(p.name for p in (tmp_path / "sms").iterdir()) == [
        "text_introduction_m1_volunteer.2.txt", "text_introduction_m1_volunteer.txt",
    ]  # fmt: skip
    assert first != second and texter.find(text.reference) == first
    assert texter.forget("+447700900982") == 2 and list((tmp_path / "sms").iterdir()) == []


def approved_phone_preferring(uow: FakeUnitOfWork, clock: FakeClock, phone: str) -> str:
    coordinator = Coordinator(email="c@nhs.example", password_hash="-", areas=["tower_hamlets"], created_at=clock.now())
    uow.coordinators.add(coordinator)
    volunteer = intake.register_volunteer(uow, factories.offer(phone=phone, preferred_contact="phone"), clock)
    request = intake.submit_request(uow, factories.team_request(), clock)
    return decisions.make_match(uow, request.id, volunteer.id, "focus_group", coordinator, CONFIG, clock).id


def test_a_text_notify_refuses_for_good_is_failed_at_once_on_the_timeline() -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    match_id = approved_phone_preferring(uow, clock, "07700 900 982")
    key = texts.key_for(introductions.delivery_key(match_id, "volunteer"))
    assert uow.deliveries.status(key) == "owed" and EventKind.TEXT_OWED in uow.kinds(match_id=match_id)
    texter = FakeTexter(refuse={"+447700900982"})
    assert texts.send_owed(uow, texter, key, clock, CONFIG, LEASE, BASE) == 0
    assert uow.deliveries.status(key) == "failed"
    assert EventKind.TEXT_FAILED in uow.kinds(match_id=match_id)


def test_a_text_handed_over_with_no_answer_is_settled_by_asking_notify() -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    sent_key = texts.key_for(
        introductions.delivery_key(approved_phone_preferring(uow, clock, "07700 900 981"), "volunteer")
    )
    lost_key = texts.key_for(
        introductions.delivery_key(approved_phone_preferring(uow, clock, "07700 900 983"), "volunteer")
    )
    texter = FakeTexter()
    for key in (sent_key, lost_key):  # both handed over; only the first reached Notify
        assert uow.deliveries.claim(key, clock.now(), LEASE, owner="dead")
        assert uow.deliveries.hand(key, "dead", clock.now())
    texter.sent.append(Text(to="+447700900981", body="...", reference=sent_key))
    clock.advance(seconds=LEASE + 1)
    again = outgoing.stalled(uow, clock, LEASE, texter)
    assert uow.deliveries.status(sent_key) == "sent"  # Notify had it: never sent twice
    assert lost_key in again and sent_key not in again  # never arrived: sent again
    assert uow.deliveries.status(lost_key) == "claimed"
    assert texts.send_owed(uow, texter, lost_key, clock, CONFIG, LEASE, BASE) == 1
    assert [t.reference for t in texter.sent] == [sent_key, lost_key]


def test_a_landline_gets_no_text_owed() -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    match_id = approved_phone_preferring(uow, clock, "020 7946 0000")
    assert EventKind.TEXT_OWED not in uow.kinds(match_id=match_id)
    assert EventKind.CALL_OWED in uow.kinds(match_id=match_id)  # on the call list: the coordinator rings instead


def test_reminders_and_the_feedback_request_go_by_text_too_each_short_with_its_link(tmp_path: Path) -> None:
    from matcher.adapters.letters import TemplateLetters
    from matcher.config import Settings
    from matcher.services import feedback, follow_ups
    from tests.fakes import FakeMailer

    letters = TemplateLetters(Settings.from_env({"QIMATCH_DATA_DIR": str(tmp_path), "QIMATCH_SECRET_KEY": "k"}))
    uow, clock, mailer, texter = FakeUnitOfWork(), FakeClock(), FakeMailer(), FakeTexter()
    match_id = approved_phone_preferring(uow, clock, "07700 900 982")

    def send_all() -> None:
        for key in [k for k, (status, _) in uow.deliveries.claims.items() if status == "owed"]:
            if key.startswith(texts.PREFIX):
                texts.send_owed(uow, texter, key, clock, CONFIG, LEASE, BASE)
            else:
                outgoing.send_owed(uow, mailer, letters, key, clock, CONFIG, LEASE)

    send_all()
    assert [t.reference.split(":")[1] for t in texter.sent] == ["introduction"]
    (chat, *_) = uow.follow_ups.where(match_id=match_id, order_by="sequence")
    clock.current = chat.due_at - timedelta(days=CONFIG.invite_lead_days)
    follow_ups.dispatch_due(uow, clock, CONFIG)  # the invitation: by email only (it carries the calendar entry)
    send_all()
    clock.current = chat.due_at - timedelta(hours=CONFIG.reminder_lead_hours)
    follow_ups.dispatch_due(uow, clock, CONFIG)  # the reminder: by text too
    send_all()
    clock.current = chat.due_at + timedelta(minutes=CONFIG.feedback_after_minutes)
    feedback.dispatch_due(uow, clock, CONFIG)  # the feedback request: by text too, to the volunteer only
    send_all()

    kinds = [(t.reference.split(":")[1], t.reference.split(":")[-1]) for t in texter.sent]
    assert [k for k, _ in kinds] == ["introduction", "follow_up", "feedback"]
    reminder, request = texter.sent[1].body, texter.sent[2].body
    assert "reminder" in reminder and f"{BASE}/v/" in reminder
    assert f"{BASE}/feedback/" in request  # straight to the form, by a link of its own
    assert all(texts.length(t.body) <= texts.MOST for t in texter.sent)
    assert all(t.to == "+447700900982" for t in texter.sent)
    assert EventKind.TEXT_SENT in uow.kinds(match_id=match_id)
