"""Redis down: people can still offer, teams can still ask, coordinators can still sign in.

Found by fault injection: with the broker's Redis gone for 30 s, volunteer and team
submissions and sign-in answered a bare 500, because the rate limiter kept its
counters there with no fallback. The web app needs Redis for nothing else: what it
accepts is stored with its outbox row in PostgreSQL, and the relay publishes it once
Redis is back.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from matcher.bootstrap import Services
from matcher.services import coordinators
from tests import factories
from tests.chaos.tally import record
from tests.integration.conftest import Processes, eventually
from tests.real_parts import PrivateRedis, free_port

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
PASSWORD = "a long and memorable passphrase"


class Browser:
    """Just enough of a browser for the sign-in form: cookies, and the CSRF field."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method: str, path: str, body: bytes | None = None, **headers: str) -> tuple[int, str]:
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=20) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post_json(self, path: str, data: dict[str, Any]) -> tuple[int, str]:
        return self.call("POST", path, json.dumps(data).encode(), **{"Content-Type": "application/json"})

    def sign_in_form(self, email: str, password: str) -> int:
        _, page = self.call("GET", "/coordinator/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, "the sign-in page has no CSRF field"
        form = urllib.parse.urlencode({"csrf_token": token.group(1), "email": email, "password": password})
        # The redirect after a good sign-in is followed; the dashboard answers 200.
        status, _ = self.call(
            "POST", "/coordinator/sign-in", form.encode(), **{"Content-Type": "application/x-www-form-urlencoded"}
        )
        return status


def test_with_redis_down_offers_requests_and_sign_in_work_and_nothing_accepted_is_lost(
    services: Services, processes: Processes
) -> None:
    broker = PrivateRedis()
    processes.env.update(QIMATCH_BROKER_URL=broker.url, QIMATCH_CONFIRM_EMAILS="false", QIMATCH_REQUIRE_TOTP="false")
    coordinators.create_coordinator(services.uow(), "lead@nhs.example", PASSWORD, ["tower_hamlets"], services.clock)
    port = free_port()
    processes.web(port)
    browser = Browser(f"http://127.0.0.1:{port}")

    broker.kill()
    down_at = time.monotonic()
    answers = {
        "offer": browser.post_json("/api/v1/volunteers", factories.offer())[0],
        "request": browser.post_json("/api/v1/team-requests", factories.team_request())[0],
        "token": browser.post_json("/api/v1/auth/token", {"email": "lead@nhs.example", "password": PASSWORD})[0],
        "wrong password": browser.post_json(
            "/api/v1/auth/token", {"email": "lead@nhs.example", "password": "not the password at all"}
        )[0],
        "sign-in page": browser.sign_in_form("lead@nhs.example", PASSWORD),
    }
    record(answers_while_redis_down=answers)
    assert answers == {"offer": 201, "request": 201, "token": 200, "wrong password": 401, "sign-in page": 200}

    # Back up: what was accepted while Redis was down is relayed and scored.
    broker.start()
    processes.worker(concurrency=1)
    processes.beat()
    with services.uow() as uow:
        [request] = uow.requests.where()

    def suggested() -> bool:
        with services.uow() as uow:
            return uow.matches.count(team_request_id=request.id) == 1

    try:
        eventually(suggested, seconds=90)
    finally:
        processes.stop_all()
        broker.kill()
    record(suggested_after_redis_back_s=round(time.monotonic() - down_at, 1))
