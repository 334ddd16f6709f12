"""Rate limits are settings, and a signed-in coordinator or API client is counted as an account,
not as the address it shares with others (a trust's office, a stall's tablet)."""

from __future__ import annotations

from dataclasses import replace

from flask import Flask
from flask.testing import FlaskClient

from matcher.bootstrap import Services
from matcher.config import Settings
from matcher.services import coordinators
from tests import factories
from tests.pages_support import csrf, volunteer_form
from tests.real_parts import free_port
from web.app import create_app

PASSWORD = "a long passphrase"


def app_with(services: Services, **env: str) -> Flask:
    """The app with these QIMATCH_* settings read from the environment, as a deployment would."""
    base = {
        "QIMATCH_DATA_DIR": str(services.settings.data_dir),
        "QIMATCH_SECRET_KEY": "fast-tier",
        "QIMATCH_REQUIRE_TOTP": "false",
    }
    settings = Settings.from_env({**base, **env})
    return create_app(services_=replace(services, settings=settings), test_config={"TESTING": True})


def limited_to_two(services: Services) -> Flask:
    return create_app(services_=services, test_config={"TESTING": True, "SUBMISSION_RATE_LIMIT": "2 per minute"})


def bearer(client: FlaskClient, services: Services, email: str) -> dict[str, str]:
    coordinators.create_coordinator(services.uow(), email, PASSWORD, ["tower_hamlets"], services.clock)
    got = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert got.status_code == 200, got.json
    return {"Authorization": f"Bearer {got.json['token']}"}


def offers(client: FlaskClient, n: int, **kwargs: object) -> list[int]:
    return [client.post("/api/v1/volunteers", json=factories.offer(), **kwargs).status_code for _ in range(n)]


def test_the_submission_limit_is_a_setting(services: Services) -> None:
    client = app_with(services, QIMATCH_SUBMISSION_RATE_LIMIT="2 per minute").test_client()
    assert offers(client, 3) == [201, 201, 429]
    roomy = app_with(services, QIMATCH_SUBMISSION_RATE_LIMIT="5 per minute").test_client()
    assert offers(roomy, 5) == [201] * 5


def test_the_sign_in_limit_is_a_setting(services: Services) -> None:
    client = app_with(services, QIMATCH_SIGN_IN_RATE_LIMIT="2 per minute").test_client()
    tries = [client.post("/api/v1/auth/token", json={"email": "x@nhs.example", "password": "wrong"}) for _ in range(3)]
    assert [t.status_code for t in tries] == [401, 401, 429]


def test_the_defaults_are_the_limits_there_were(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.from_env({"QIMATCH_DATA_DIR": str(tmp_path), "QIMATCH_SECRET_KEY": "k"})
    assert (settings.submission_rate_limit, settings.sign_in_rate_limit) == ("60 per minute", "10 per minute")


def test_api_clients_behind_one_address_are_counted_per_account(services: Services) -> None:
    client = limited_to_two(services).test_client()
    trust_system = bearer(client, services, "system@trust.example")
    other_trust = bearer(client, services, "system@other.example")

    assert offers(client, 3, headers=trust_system) == [201, 201, 429]
    # The same address, another account: its own count.
    assert offers(client, 2, headers=other_trust) == [201, 201]
    # Anonymous callers from that address have theirs too, and a bad token does not borrow an account's.
    assert offers(client, 2) == [201, 201]
    assert offers(client, 1, headers={"Authorization": "Bearer forged"}) == [429]


def sign_in(client: FlaskClient, services: Services, email: str) -> None:
    coordinators.create_coordinator(services.uow(), email, PASSWORD, ["tower_hamlets"], services.clock)
    form = {"csrf_token": csrf(client, "/coordinator/sign-in"), "email": email, "password": PASSWORD}
    assert client.post("/coordinator/sign-in", data=form).status_code == 303


def sign_ups(client: FlaskClient, n: int, who: str) -> list[int]:
    codes = []
    for i in range(n):
        form = volunteer_form(email=f"{who}-{i}@example.org", csrf_token=csrf(client, "/volunteer/sign-up"))
        codes.append(client.post("/volunteer/sign-up", data=form).status_code)
    return codes


def test_coordinators_at_stalls_behind_one_address_are_counted_per_account(services: Services) -> None:
    app = limited_to_two(services)
    first_stall, second_stall, passer_by = app.test_client(), app.test_client(), app.test_client()
    sign_in(first_stall, services, "stall.one@nhs.example")
    sign_in(second_stall, services, "stall.two@nhs.example")

    first = sign_ups(first_stall, 3, "one")
    assert 429 not in first[:2] and first[2] == 429
    assert 429 not in sign_ups(second_stall, 2, "two")
    assert 429 not in sign_ups(passer_by, 2, "anon")


def test_anonymous_callers_are_counted_per_address(services: Services) -> None:
    client = limited_to_two(services).test_client()
    here = {"environ_base": {"REMOTE_ADDR": "10.0.0.1"}}
    there = {"environ_base": {"REMOTE_ADDR": "10.0.0.2"}}
    assert offers(client, 3, **here) == [201, 201, 429]
    assert offers(client, 2, **there) == [201, 201]


def test_with_the_counters_store_down_submissions_still_work_and_are_still_limited(services) -> None:  # type: ignore[no-untyped-def]
    """Found: Redis down for 30 s answered every submission and sign-in with a bare 500."""
    nothing_listens = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(
        services_=services,
        test_config={
            "TESTING": True,
            "RATELIMIT_STORAGE_URI": nothing_listens,
            "SUBMISSION_RATE_LIMIT": "2 per minute",
        },
    )
    client = app.test_client()
    answers = [client.post("/api/v1/volunteers", json=factories.offer()).status_code for _ in range(3)]
    assert answers == [201, 201, 429]  # counted in memory meanwhile, with the same limit
    page = client.get("/coordinator/sign-in")
    assert page.status_code == 200
