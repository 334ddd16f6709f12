"""Email ownership (issue 11, item 6), in the fast tier: the real app on SQLite.

An anonymous offer is matchable only once its address is confirmed through the
private link; a coordinator's entry counts as confirmed; one address, however
typed, is one person; and a stranger cannot have us flood a mailbox with links.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matcher.bootstrap import Services
from matcher.domain import MatchStatus
from matcher.ports import Email
from matcher.services import coordinators, links, outgoing, suggestions
from tests import factories
from tests.fakes import FakeMailer
from tests.pages_support import CSRF, csrf, sign_in_coordinator, volunteer_form
from web.app import create_app

PASSWORD = "a long passphrase"


@pytest.fixture
def confirming(services: Services) -> Flask:
    """The app as deployed by default: QIMATCH_CONFIRM_EMAILS on."""
    on = replace(services, settings=replace(services.settings, confirm_emails=True))
    return create_app(services_=on, test_config={"TESTING": True, "SUBMISSION_RATE_LIMIT": "10000 per minute"})


def send_owed_emails(services: Services) -> list[Email]:
    """What the worker's send_email task does with every email owed so far."""
    mailer = FakeMailer()
    with services.uow() as uow:
        keys = [str(e.data["key"]) for e in uow.events.where(kind="email.owed", order_by="id")]
    for key in keys:
        outgoing.send_owed(
            services.uow(), mailer, services.letters, key, services.clock, services.settings.matching, 60
        )
    return mailer.sent


def link_in(email: Email) -> str:
    return "/v/" + email.text.split("/v/")[1].split()[0]


def status_of(services: Services, volunteer_id: str) -> str:
    with services.uow() as uow:
        return uow.volunteers.get(volunteer_id).status


def suggested(services: Services, request_id: str) -> set[str]:
    suggestions.suggest_for_request(services.uow(), request_id, services.settings.matching, services.clock)
    with services.uow() as uow:
        return {m.volunteer_id for m in uow.matches.where(team_request_id=request_id, status=MatchStatus.SUGGESTED)}


def bearer(client: FlaskClient, services: Services, email: str = "lead@nhs.example") -> tuple[str, dict[str, str]]:
    coordinator = coordinators.create_coordinator(services.uow(), email, PASSWORD, ["tower_hamlets"], services.clock)
    got = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    return coordinator.id, {"Authorization": f"Bearer {got.json['token']}"}


# --- Finding: an offer was live and matchable at once, with no check of the email ------------------


def test_an_anonymous_offer_is_matched_only_after_its_owner_confirms_through_the_link(
    confirming: Flask, services: Services
) -> None:
    client = confirming.test_client()
    request_id = client.post("/api/v1/team-requests", json=factories.team_request()).json["id"]
    receipt = client.post("/api/v1/volunteers", json=factories.offer(email="Nadia@example.org"))
    assert receipt.status_code == 201 and receipt.json["status"] == "unconfirmed"
    nadia = receipt.json["id"]

    assert suggested(services, request_id) == set()  # not matchable yet
    _, auth = bearer(client, services)
    shown = client.get(f"/api/v1/volunteers/{nadia}", headers=auth).json
    assert shown["status"] == "unconfirmed" and shown["email_confirmed_at"] is None
    # The coordinator's "why not this person?" names the reason.
    why = client.get(f"/api/v1/team-requests/{request_id}/why-not?volunteer_id={nadia}", headers=auth)
    assert why.status_code == 200, why.json
    assert "has not yet confirmed their email address" in str(why.json)

    [letter] = send_owed_emails(services)
    assert letter.to == "Nadia@example.org"
    assert letter.subject == "Please confirm your email address for your involvement offer"
    link = link_in(letter)

    looked = client.get(link)  # a mail scanner, or the person reading first
    assert looked.status_code == 200 and "Confirm my email address" in looked.get_data(as_text=True)
    assert status_of(services, nadia) == "unconfirmed"  # looking confirms nothing

    token = CSRF.search(looked.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    confirmed = client.post(link, data={"csrf_token": token})
    assert confirmed.status_code == 303 and confirmed.headers["Location"].endswith("/me")
    assert "your email address is confirmed" in client.get("/me").get_data(as_text=True)
    assert status_of(services, nadia) == "active"
    with services.uow() as uow:
        kinds = [e.kind for e in uow.events.where(volunteer_id=nadia, order_by="id")]
        assert "volunteer.email_confirmed" in kinds
        assert uow.volunteers.get(nadia).email_confirmed_by == "link"
    assert suggested(services, request_id) == {nadia}
    assert client.get(link).status_code == 404  # used up


def test_the_coordinator_sees_an_unconfirmed_volunteer_left_out_and_why(confirming: Flask, services: Services) -> None:
    client = confirming.test_client()
    request_id = client.post("/api/v1/team-requests", json=factories.team_request()).json["id"]
    nadia = client.post("/api/v1/volunteers", json=factories.offer(name="Nadia Islam")).json["id"]
    sign_in_coordinator(client, services)

    page = client.get(f"/coordinator/requests/{request_id}").get_data(as_text=True)
    assert "Nadia Islam" in page and "has not yet confirmed their email address" in page
    listed = client.get("/coordinator/volunteers?status=unconfirmed").get_data(as_text=True)
    assert "Nadia Islam" in listed and "Unconfirmed" in listed
    assert "not confirmed yet" in client.get(f"/coordinator/volunteers/{nadia}").get_data(as_text=True)


def test_the_sign_up_page_asks_to_confirm_and_says_the_same_for_a_known_address(
    confirming: Flask, services: Services
) -> None:
    client = confirming.test_client()
    first = client.post("/volunteer/sign-up", data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up")))
    again = client.post(
        "/volunteer/sign-up",
        data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up"), email=" AMINA@example.org"),
    )
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]  # nothing tells the address is known
    thanks = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Please confirm your email address" in thanks
    with services.uow() as uow:
        [amina] = uow.volunteers.where()
    assert amina.status == "unconfirmed"
    letters = send_owed_emails(services)
    assert [e.subject for e in letters] == ["Please confirm your email address for your involvement offer"] * 2
    # Only the newest link works.
    older, newest = (link_in(e) for e in letters)
    assert client.get(older).status_code == 404 and client.get(newest).status_code == 200


def test_an_unconfirmed_offer_is_not_made_active_or_paused_by_hand(confirming: Flask, services: Services) -> None:
    client = confirming.test_client()
    nadia = client.post("/api/v1/volunteers", json=factories.offer()).json["id"]
    _, auth = bearer(client, services)
    for status in ("active", "paused"):
        refused = client.patch(f"/api/v1/volunteers/{nadia}", json={"status": status}, headers=auth)
        assert refused.status_code == 409, refused.json
    skipped = client.patch(f"/api/v1/volunteers/{nadia}", json={"status": "unconfirmed"}, headers=auth)
    assert skipped.status_code == 422 and "status" in skipped.json["errors"]
    assert client.patch(f"/api/v1/volunteers/{nadia}", json={"status": "withdrawn"}, headers=auth).status_code == 200


# --- An offer entered by a signed-in coordinator or API client counts as confirmed ------------------


def test_an_offer_entered_by_an_api_client_is_confirmed_by_that_account(confirming: Flask, services: Services) -> None:
    client = confirming.test_client()
    coordinator_id, auth = bearer(client, services)
    request_id = client.post("/api/v1/team-requests", json=factories.team_request()).json["id"]
    receipt = client.post("/api/v1/volunteers", json=factories.offer(), headers=auth)
    assert receipt.status_code == 201 and receipt.json["status"] == "active"
    shown = client.get(f"/api/v1/volunteers/{receipt.json['id']}", headers=auth).json
    assert shown["email_confirmed_by"] == coordinator_id and shown["email_confirmed_at"]
    assert send_owed_emails(services) == []  # the API sends no link unless confirmation is needed
    assert suggested(services, request_id) == {receipt.json["id"]}
    forged = client.post("/api/v1/volunteers", json=factories.offer(), headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401  # a client that meant to sign in is told so, not taken as anonymous


def test_an_offer_entered_at_a_stall_by_a_signed_in_coordinator_is_confirmed(
    confirming: Flask, services: Services
) -> None:
    client = confirming.test_client()
    sign_in_coordinator(client, services)
    sent = client.post("/volunteer/sign-up", data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up")))
    assert "Please confirm" not in client.get(sent.headers["Location"]).get_data(as_text=True)
    with services.uow() as uow:
        [amina] = uow.volunteers.where()
        lead = uow.coordinators.where()[0]
    assert amina.status == "active" and amina.email_confirmed_by == lead.id
    [letter] = send_owed_emails(services)  # the sign-up form still sends the private link
    assert letter.subject == "Your involvement offer: your private link"


def test_with_confirmation_off_an_offer_is_matchable_at_once(app: Flask, services: Services) -> None:
    assert services.settings.confirm_emails is False  # this tier's setting (tests/unit/conftest.py)
    receipt = app.test_client().post("/api/v1/volunteers", json=factories.offer())
    assert receipt.json["status"] == "active"
    with services.uow() as uow:
        assert uow.volunteers.get(receipt.json["id"]).email_confirmed_by == "not_asked"


# --- Finding: ten variants of one address all registered ---------------------------------------------

SAME_PERSON = [
    ("another case", "NADIA@EXAMPLE.ORG"),
    ("a fullwidth letter", "\uff4eadia@example.org"),
    ("a zero-width space in the domain", "nadia@exam\u200bple.org"),
    ("a zero-width space after it", "nadia@example.org\u200b"),
    ("a byte-order mark", "\ufeffnadia@example.org"),
    ("a zero-width joiner in the name", "nad\u200dia@example.org"),
]
REFUSED = [
    ("a Cyrillic a in the name", "n\u0430dia@example.org"),
    ("a Cyrillic a in the domain", "nadia@ex\u0430mple.org"),
    ("a Greek o in the domain", "nadia@examp\u03bfle.org"),
    ("localhost", "x@localhost"),
    ("no dot", "x@intranet"),
    (".local", "x@printer.local"),
    (".localhost", "x@app.localhost"),
    (".internal", "x@corp.internal"),
    ("an IP literal", "x@[127.0.0.1]"),
    ("an IPv6 literal", "x@[IPv6:::1]"),
    ("a bare IP number", "x@10.0.0.1"),
]


@pytest.mark.parametrize(("what", "address"), SAME_PERSON, ids=[s[0] for s in SAME_PERSON])
def test_variants_of_one_address_are_one_person(app: Flask, services: Services, what: str, address: str) -> None:
    client = app.test_client()
    assert client.post("/api/v1/volunteers", json=factories.offer(email="nadia@example.org")).status_code == 201
    again = client.post("/api/v1/volunteers", json=factories.offer(email=address))
    assert again.status_code == 409 and "email" in again.json["errors"], again.json
    with services.uow() as uow:
        assert len(uow.volunteers.where()) == 1


@pytest.mark.parametrize(("what", "address"), REFUSED, ids=[s[0] for s in REFUSED])
def test_look_alike_and_local_only_addresses_are_refused_naming_email(
    app: Flask, services: Services, what: str, address: str
) -> None:
    client = app.test_client()
    refused = client.post("/api/v1/volunteers", json=factories.offer(email=address))
    assert refused.status_code == 422 and "email" in refused.json["errors"], refused.json
    team = client.post("/api/v1/team-requests", json=factories.team_request(contact={"name": "Sam", "email": address}))
    assert team.status_code == 422 and "contact.email" in team.json["errors"], team.json
    with services.uow() as uow:
        assert uow.volunteers.where() == [] and uow.requests.where() == []


def test_the_sign_up_form_names_the_email_field_for_a_look_alike_address(app: Flask) -> None:
    client = app.test_client()
    form = volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up"), email="amin\u0430@example.org")
    page = client.post("/volunteer/sign-up", data=form)
    assert page.status_code == 422 and "mixes letters from different alphabets" in page.get_data(as_text=True)


def test_the_address_is_stored_cleaned_so_mail_goes_where_it_was_meant(app: Flask, services: Services) -> None:
    receipt = app.test_client().post("/api/v1/volunteers", json=factories.offer(email="\uff2eadia@exam\u200bple.org"))
    with services.uow() as uow:
        v = uow.volunteers.get(receipt.json["id"])
    assert (v.email, v.email_key) == ("Nadia@example.org", "nadia@example.org")


# --- Finding: /link sent 20 emails to one address in a minute, leaving 20 live links ----------------


def ask_for_links(client: FlaskClient, address: str, times: int) -> set[bytes]:
    answers = set()
    for _ in range(times):
        response = client.post("/link", data={"csrf_token": csrf(client, "/link"), "email": address})
        answers.add(response.status_code.to_bytes(2, "big") + response.headers["Location"].encode())
        response.close()  # runs the after-the-response work: the lookup and the owed emails
    return answers


def test_link_asks_are_limited_per_address_and_only_the_newest_link_works(app: Flask, services: Services) -> None:
    client = app.test_client()
    form = volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up"), email="amina@example.org")
    client.post("/volunteer/sign-up", data=form)  # its private link is the first of three

    known = ask_for_links(client, "Amina@Example.org", 20)
    unknown = ask_for_links(client, "nobody@example.org", 2)
    assert known == unknown  # the same answer, limited or not, known or not

    letters = send_owed_emails(services)
    assert [e.to for e in letters] == ["amina@example.org"] * 3
    alive = [link for link in map(link_in, letters) if client.get(link).status_code == 200]
    assert alive == [link_in(letters[-1])]


def test_a_repeated_sign_up_is_limited_too(app: Flask, services: Services) -> None:
    client = app.test_client()
    for _ in range(6):
        client.post("/volunteer/sign-up", data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up")))
    assert len(send_owed_emails(services)) == 3


def test_the_allowance_comes_back_after_an_hour() -> None:
    from tests.fakes import FakeClock, FakeRepository, FakeUnitOfWork

    uow, clock = FakeUnitOfWork(), FakeClock()
    uow.access_tokens = FakeRepository()  # type: ignore[attr-defined]
    from matcher.services import intake

    intake.register_volunteer(uow, factories.offer(email="nadia@example.org"), clock, confirm_emails=True)
    request = intake.submit_request(
        uow, factories.team_request(contact={"name": "Nadia", "email": "NADIA@example.org"}), clock
    )
    # The address holds an offer and a request: one asking is two emails, and the limit is three in all.
    assert len(links.owe_links_for(uow, "nadia@example.org", clock)) == 2  # 1 + 2 = 3 this hour
    assert links.owe_links_for(uow, "nadia@example.org", clock) == []
    clock.advance(minutes=59)
    assert links.owe_links_for(uow, "nadia@example.org", clock) == []
    clock.advance(minutes=2)
    owed = links.owe_links_for(uow, "nadia@example.org", clock)
    assert len(owed) == 2 and request.id in owed[1]


# --- Export and erasure cover what confirmation records ---------------------------------------------


def test_the_confirmation_is_in_the_export_and_goes_with_erasure(confirming: Flask, services: Services) -> None:
    client = confirming.test_client()
    nadia = client.post("/api/v1/volunteers", json=factories.offer(email="nadia@example.org")).json["id"]
    [letter] = send_owed_emails(services)
    looked = client.get(link_in(letter))
    client.post(link_in(letter), data={"csrf_token": CSRF.search(looked.get_data(as_text=True)).group(1)})  # type: ignore[union-attr]

    offer = client.get("/me/data.json").json["offer"]
    assert offer["email_confirmed_by"] == "link" and offer["email_confirmed_at"]

    token = csrf(client, "/me")
    assert client.post("/me/erase", data={"csrf_token": token, "confirm_erase": "yes"}).status_code == 303
    with services.uow() as uow:
        erased = uow.volunteers.get(nadia)
    assert erased.erased and (erased.email_confirmed_at, erased.email_confirmed_by) == (None, None)
