"""Coordinator accounts on the real stack: the invitation goes out through the delivery claim
and a real worker to an SMTP server; sign-in counters live in Redis, shared by web processes."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import redis
from flask import Flask

from matcher.bootstrap import Services
from tests.accounts_support import PASSWORD, code, enrolled, link_in, totp_app
from tests.integration.conftest import Processes, eventually
from tests.pages_support import csrf
from tests.real_parts import SmtpSink


def test_an_invitation_is_emailed_by_the_worker_and_opens_a_second_factor_account(
    services: Services, worker: Processes, smtp: SmtpSink
) -> None:
    client = totp_app(services).test_client()
    admin_secret, _ = enrolled(services, "admin@nhs.example", admin=True)
    token = client.post(
        "/api/v1/auth/token", json={"email": "admin@nhs.example", "password": PASSWORD, "otp": code(admin_secret)}
    ).json["token"]
    invited = client.post(
        "/api/v1/coordinators",
        json={"email": "nia@nhs.example", "areas": ["newham"], "name": "Nia"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert invited.status_code == 201

    got = eventually(lambda: [r for r in smtp.received if "nia@nhs.example" in r.envelope_to], seconds=60)
    assert len(got) == 1 and "invited to qimatch" in got[0].message["Subject"]
    path = link_in(got[0].part("text/plain").decode())
    page = client.get(path).get_data(as_text=True)
    secret = page.split('id="totp-key">')[1].split("<")[0]
    form = {"csrf_token": csrf(client, path), "password": "nia's own passphrase", "otp": code(secret)}
    done = client.post(path, data={**form, "password_again": form["password"]})
    assert done.status_code == 200 and "recovery codes" in done.get_data(as_text=True)

    # The enrolment spent this step's code; the next step's is good (a phone a little ahead).
    later = pyotp.TOTP(secret).at(services.clock.now() + timedelta(seconds=30))
    signed = client.post(
        "/api/v1/auth/token", json={"email": "nia@nhs.example", "password": "nia's own passphrase", "otp": later}
    )
    assert signed.status_code == 200, signed.json


def fresh_web_process(services: Services, **config: object) -> Flask:
    # A new app makes a new counter store: in memory it would start from nothing.
    return totp_app(services, **config)


def test_failed_sign_ins_per_account_are_counted_in_redis_across_web_processes(
    services: Services, redis_url: str, clean: None
) -> None:
    enrolled(services, "lead@nhs.example")
    tries = {"SIGN_IN_ACCOUNT_RATE_LIMIT": "3 per minute", "SIGN_IN_RATE_LIMIT": "100 per minute"}

    def wrong(app: Flask, address: str) -> int:
        body = {"email": "lead@nhs.example", "password": "a wrong guess", "otp": "123456"}
        got = app.test_client().post("/api/v1/auth/token", json=body, environ_base={"REMOTE_ADDR": address})
        return got.status_code

    first = fresh_web_process(services, **tries)
    assert [wrong(first, f"10.1.0.{i}") for i in range(3)] == [401, 401, 401]
    assert any(b"sign-in-account" in k for k in redis.Redis.from_url(redis_url).keys("*"))
    second = fresh_web_process(services, **tries)
    assert wrong(second, "10.2.0.1") == 429


def test_one_code_used_twice_at_the_same_moment_signs_in_once(services: Services, clean: None) -> None:
    """Two sign-ins racing with one code (seen over a shoulder): the row lock lets one through."""
    from concurrent.futures import ThreadPoolExecutor

    secret, _ = enrolled(services, "lead@nhs.example")
    app = totp_app(services)
    seen = code(secret)

    def sign_in(_: int) -> int:
        body = {"email": "lead@nhs.example", "password": PASSWORD, "otp": seen}
        return app.test_client().post("/api/v1/auth/token", json=body).status_code

    with ThreadPoolExecutor(4) as pool:
        answers = sorted(pool.map(sign_in, range(4)))
    assert answers == [200, 401, 401, 401]


def test_an_account_from_before_totp_is_told_to_ask_for_enrolment(services: Services, clean: None) -> None:
    from sqlalchemy import text

    enrolled(services, "lead@nhs.example")
    assert services.engine is not None
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE coordinators SET totp_secret = NULL"))  # as migration 0011 leaves them
    got = (
        totp_app(services)
        .test_client()
        .post("/api/v1/auth/token", json={"email": "lead@nhs.example", "password": PASSWORD, "otp": "123456"})
    )
    assert got.status_code == 401 and "reset-totp" in got.json["message"]
