"""Coordinator accounts worthy of Article 9 data (issue 11, item 5): a second factor, passwords
that are not guessable, limits per account, tokens that can be ended, invitations, resets and
deactivation. Each test is what a coordinator or an attacker would notice."""

from __future__ import annotations

from flask.testing import FlaskClient

from matcher.bootstrap import Services
from matcher.services import coordinators
from tests.accounts_support import (
    PASSWORD,
    code,
    enrolled,
    link_in,
    send_owed_coordinator_emails,
    totp_app,
)
from tests.pages_support import csrf
from web.app import create_app

EMAIL = "lead@nhs.example"


def token_call(client: FlaskClient, **body: str) -> tuple[int, dict[str, object]]:
    got = client.post("/api/v1/auth/token", json={"email": EMAIL, "password": PASSWORD, **body})
    return got.status_code, got.json or {}


# --- The second factor -------------------------------------------------------------------------


def test_signing_in_on_the_api_needs_the_authenticator_code(services: Services) -> None:
    """Found: a password alone opened the account (no second factor)."""
    secret, _ = enrolled(services, EMAIL)
    client = totp_app(services).test_client()

    status, body = token_call(client)
    assert status == 401 and "otp" in str(body["message"])
    assert token_call(client, otp="000000")[0] == 401
    status, body = token_call(client, otp=code(secret))
    assert status == 200 and body["token"]


def test_a_code_cannot_be_used_twice(services: Services) -> None:
    secret, _ = enrolled(services, EMAIL)
    client = totp_app(services).test_client()
    seen = code(secret)
    assert token_call(client, otp=seen)[0] == 200
    status, body = token_call(client, otp=seen)
    assert status == 401 and body["message"] == "wrong email, password or one-time code"


def test_a_recovery_code_signs_in_once_instead_of_the_code(services: Services) -> None:
    _, recovery = enrolled(services, EMAIL)
    client = totp_app(services).test_client()
    assert token_call(client, otp=recovery[0].upper())[0] == 200  # however it is typed
    assert token_call(client, otp=recovery[0])[0] == 401
    assert token_call(client, otp=recovery[1])[0] == 200


def test_a_refusal_never_says_whether_the_email_has_an_account(services: Services) -> None:
    secret, _ = enrolled(services, EMAIL)
    client = totp_app(services).test_client()
    unknown = client.post(
        "/api/v1/auth/token", json={"email": "nobody@nhs.example", "password": PASSWORD, "otp": code(secret)}
    )
    wrong_password = client.post(
        "/api/v1/auth/token", json={"email": EMAIL, "password": "not the password", "otp": code(secret)}
    )
    assert unknown.status_code == wrong_password.status_code == 401
    assert unknown.json == wrong_password.json


def test_the_sign_in_page_asks_for_the_code(services: Services) -> None:
    secret, _ = enrolled(services, EMAIL)
    client = totp_app(services).test_client()
    page = client.get("/coordinator/sign-in").get_data(as_text=True)
    assert 'name="otp"' in page and "One-time code" in page

    form = {"csrf_token": csrf(client, "/coordinator/sign-in"), "email": EMAIL, "password": PASSWORD}
    without = client.post("/coordinator/sign-in", data=form)
    assert without.status_code == 422 and "6-digit code" in without.get_data(as_text=True)
    signed = client.post("/coordinator/sign-in", data={**form, "otp": code(secret)})
    assert signed.status_code == 303 and client.get("/coordinator/").status_code == 200


def test_with_totp_turned_off_a_password_is_enough(services: Services) -> None:
    """QIMATCH_REQUIRE_TOTP=false: a trust whose own single sign-on stands in front."""
    enrolled(services, EMAIL)
    client = create_app(services_=services, test_config={"TESTING": True}).test_client()
    assert services.settings.require_totp is False
    assert token_call(client)[0] == 200
    assert 'name="otp"' not in client.get("/coordinator/sign-in").get_data(as_text=True)


# --- Passwords ---------------------------------------------------------------------------------


def test_passwords_need_twelve_characters_and_not_a_common_one(services: Services) -> None:
    """Found: 10 characters were enough, with no check against common passwords."""
    admin_secret, _ = enrolled(services, "admin@nhs.example", admin=True)
    client = totp_app(services).test_client()
    token = client.post(
        "/api/v1/auth/token", json={"email": "admin@nhs.example", "password": PASSWORD, "otp": code(admin_secret)}
    ).json["token"]
    me = {"Authorization": f"Bearer {token}"}
    for bad in ("ten chars!", "qwerty123456", "Q1W2E3R4T5Y6"):
        got = client.post("/api/v1/auth/password", json={"current_password": PASSWORD, "password": bad}, headers=me)
        assert got.status_code == 422 and list(got.json["errors"]) == ["password"], bad
    wrong = client.post(
        "/api/v1/auth/password",
        json={"current_password": "a guess at it", "password": "a new long passphrase"},
        headers=me,
    )
    assert wrong.status_code == 422 and "current_password" in wrong.json["errors"]
    good = client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "password": "a new long passphrase"}, headers=me
    )
    assert good.status_code == 204
    assert coordinators.authenticate(services.uow(), "admin@nhs.example", "a new long passphrase").admin


def test_create_coordinator_refuses_a_short_password(services: Services) -> None:
    import pytest

    from matcher.errors import Invalid

    with pytest.raises(Invalid) as refused:
        coordinators.create_coordinator(services.uow(), EMAIL, "ten chars!", ["tower_hamlets"], services.clock)
    assert list(refused.value.errors) == ["password"]


# --- Rate limits per account --------------------------------------------------------------------


def test_failed_sign_ins_are_limited_per_account_from_any_address(services: Services) -> None:
    """Found: limits were per address only: a guesser spreading over addresses was never slowed."""
    secret, _ = enrolled(services, EMAIL)
    client = totp_app(services, SIGN_IN_ACCOUNT_RATE_LIMIT="3 per minute").test_client()
    answers = []
    for i in range(4):
        got = client.post(
            "/api/v1/auth/token",
            json={"email": EMAIL, "password": f"guess number {i}", "otp": "123456"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"},
        )
        answers.append(got.status_code)
    assert answers == [401, 401, 401, 429]
    # Another account is not held up by it.
    other = client.post("/api/v1/auth/token", json={"email": "other@nhs.example", "password": "x", "otp": "1"})
    assert other.status_code == 401


# --- Tokens: listed, revoked, signed out everywhere ------------------------------------------------


def test_api_tokens_are_listed_and_a_revoked_one_stops_working(services: Services) -> None:
    client = create_app(services_=services, test_config={"TESTING": True}).test_client()
    coordinators.create_coordinator(services.uow(), EMAIL, PASSWORD, ["tower_hamlets"], services.clock)
    first = token_call(client, label="trust system")[1]
    second = token_call(client)[1]
    one = {"Authorization": f"Bearer {first['token']}"}
    two = {"Authorization": f"Bearer {second['token']}"}

    listed = client.get("/api/v1/auth/tokens", headers=one).json
    assert {t["id"] for t in listed} == {first["id"], second["id"]}
    assert [t["label"] for t in listed if t["current"]] == ["trust system"]
    assert all("token" not in t for t in listed)  # the secret is shown only once

    assert client.delete(f"/api/v1/auth/tokens/{second['id']}", headers=one).status_code == 204
    assert client.get("/api/v1/auth/tokens", headers=two).status_code == 401
    assert client.get("/api/v1/auth/tokens", headers=one).status_code == 200
    assert client.delete(f"/api/v1/auth/tokens/{second['id']}", headers=one).status_code == 404


def test_signing_out_everywhere_ends_every_token_and_page_session(services: Services) -> None:
    app = create_app(services_=services, test_config={"TESTING": True})
    api, browser = app.test_client(), app.test_client()
    coordinators.create_coordinator(services.uow(), EMAIL, PASSWORD, ["tower_hamlets"], services.clock)
    form = {"csrf_token": csrf(browser, "/coordinator/sign-in"), "email": EMAIL, "password": PASSWORD}
    assert browser.post("/coordinator/sign-in", data=form).status_code == 303
    tokens = [{"Authorization": f"Bearer {token_call(api)[1]['token']}"} for _ in range(2)]

    ended = api.post("/api/v1/auth/sign-out-everywhere", headers=tokens[0])
    assert ended.status_code == 200 and ended.json["ended"] == 3
    assert [api.get("/api/v1/auth/tokens", headers=t).status_code for t in tokens] == [401, 401]
    assert browser.get("/coordinator/").status_code == 302  # back to the sign-in page


# --- Admins: invite, deactivate ---------------------------------------------------------------------


def admin_token(client: FlaskClient, services: Services) -> dict[str, str]:
    coordinators.create_coordinator(
        services.uow(), "admin@nhs.example", PASSWORD, ["tower_hamlets", "newham"], services.clock, admin=True
    )
    got = client.post("/api/v1/auth/token", json={"email": "admin@nhs.example", "password": PASSWORD})
    return {"Authorization": f"Bearer {got.json['token']}"}


def test_an_invited_coordinator_sets_a_password_and_enrols_by_the_emailed_link(services: Services) -> None:
    client = totp_app(services).test_client()
    admin_secret, _ = enrolled(services, "admin@nhs.example", admin=True)
    token = client.post(
        "/api/v1/auth/token", json={"email": "admin@nhs.example", "password": PASSWORD, "otp": code(admin_secret)}
    ).json["token"]
    made = client.post(
        "/api/v1/coordinators",
        json={"email": "New.Person@NHS.example", "areas": ["newham"], "name": "Nia"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert made.status_code == 201 and made.json["status"] == "invited"
    assert token_call(client, email="new.person@nhs.example")[0] == 401  # no password yet

    sent = send_owed_coordinator_emails(services)
    assert [e.to for e in sent.sent] == ["new.person@nhs.example"]
    path = link_in(sent.sent[0].text)
    page = client.get(path).get_data(as_text=True)
    assert "otpauth://totp/" in page and "Set up your account" in page
    secret = page.split('id="totp-key">')[1].split("<")[0]

    form = {"csrf_token": csrf(client, path), "password": "my own long passphrase"}
    mismatch = client.post(path, data={**form, "password_again": "something else", "otp": code(secret)})
    assert mismatch.status_code == 422
    no_code = client.post(path, data={**form, "password_again": form["password"], "otp": "000000"})
    assert no_code.status_code == 422 and "6-digit code" in no_code.get_data(as_text=True)
    done = client.post(path, data={**form, "password_again": form["password"], "otp": code(secret)})
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "recovery codes" in text and text.count("<li><code>") == 10
    recovery = text.split("<li><code>")[1].split("<")[0]

    # The link is used up; the new coordinator signs in (the enrolment code is spent: a recovery code).
    assert client.get(path).status_code == 404
    status, _ = token_call(client, email="new.person@nhs.example", password="my own long passphrase", otp=recovery)
    assert status == 200


def test_only_admins_invite_and_nobody_twice(services: Services) -> None:
    client = create_app(services_=services, test_config={"TESTING": True}).test_client()
    admin = admin_token(client, services)
    coordinators.create_coordinator(services.uow(), EMAIL, PASSWORD, ["tower_hamlets"], services.clock)
    plain = {"Authorization": f"Bearer {token_call(client)[1]['token']}"}
    body = {"email": "x@nhs.example", "areas": ["newham"]}
    assert client.post("/api/v1/coordinators", json=body, headers=plain).status_code == 403
    assert client.get("/api/v1/coordinators", headers=plain).status_code == 403
    assert client.post("/api/v1/coordinators", json={**body, "email": EMAIL}, headers=admin).status_code == 409
    bad = client.post("/api/v1/coordinators", json={"email": "x@nhs.example", "areas": ["atlantis"]}, headers=admin)
    assert bad.status_code == 422 and "areas" in str(bad.json["errors"])


def test_a_deactivated_account_cannot_sign_in_and_its_tokens_stop(services: Services) -> None:
    client = create_app(services_=services, test_config={"TESTING": True}).test_client()
    admin = admin_token(client, services)
    lead = coordinators.create_coordinator(services.uow(), EMAIL, PASSWORD, ["tower_hamlets"], services.clock)
    theirs = {"Authorization": f"Bearer {token_call(client)[1]['token']}"}

    done = client.post(f"/api/v1/coordinators/{lead.id}/deactivate", headers=admin)
    assert done.status_code == 200 and done.json["status"] == "deactivated"
    assert client.get("/api/v1/auth/tokens", headers=theirs).status_code == 401
    assert token_call(client)[0] == 401
    admin_id = next(c["id"] for c in client.get("/api/v1/coordinators", headers=admin).json if c["admin"])
    own = client.post(f"/api/v1/coordinators/{admin_id}/deactivate", headers=admin)
    assert own.status_code == 409 and "another admin" in own.json["message"]


# --- Reset by email -------------------------------------------------------------------------------


def test_a_reset_never_says_whether_the_email_is_known_and_its_link_works_once(services: Services) -> None:
    client = create_app(services_=services, test_config={"TESTING": True}).test_client()
    coordinators.create_coordinator(services.uow(), EMAIL, PASSWORD, ["tower_hamlets"], services.clock)
    old_token = {"Authorization": f"Bearer {token_call(client)[1]['token']}"}
    known = client.post("/api/v1/auth/password-reset", json={"email": EMAIL.upper()})
    unknown = client.post("/api/v1/auth/password-reset", json={"email": "nobody@nhs.example"})
    assert known.status_code == unknown.status_code == 202 and known.json == unknown.json

    sent = send_owed_coordinator_emails(services)
    assert [e.to for e in sent.sent] == [EMAIL]
    path = link_in(sent.sent[0].text)
    form = {"csrf_token": csrf(client, path), "password": "a fresh long passphrase"}
    short = client.post(path, data={**form, "password": "too short", "password_again": "too short"})
    assert short.status_code == 422 and "12 characters" in short.get_data(as_text=True)
    done = client.post(path, data={**form, "password_again": form["password"]})
    assert done.status_code == 303
    assert client.get(path).status_code == 404  # single use
    assert token_call(client)[0] == 401  # the old password is gone...
    assert token_call(client, password="a fresh long passphrase")[0] == 200
    assert client.get("/api/v1/auth/tokens", headers=old_token).status_code == 401  # ...and every old sign-in


def test_reset_emails_to_one_address_are_limited_from_any_address(services: Services) -> None:
    coordinators.create_coordinator(services.uow(), EMAIL, PASSWORD, ["tower_hamlets"], services.clock)
    client = create_app(
        services_=services, test_config={"TESTING": True, "SIGN_IN_ACCOUNT_RATE_LIMIT": "2 per minute"}
    ).test_client()
    answers = [
        client.post(
            "/api/v1/auth/password-reset", json={"email": EMAIL}, environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}
        ).status_code
        for i in range(3)
    ]
    assert answers == [202, 202, 429]
    assert len(send_owed_coordinator_emails(services).sent) == 2
