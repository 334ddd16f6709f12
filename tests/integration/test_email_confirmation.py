"""Email confirmation on real parts: PostgreSQL, Redis, a Celery worker (with its kept
population of volunteers) and an SMTP server.

An anonymous offer is in the database but not in any worker's matching until its owner
opens the link that arrived over SMTP and confirms; then the worker suggests them.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import text

from matcher.bootstrap import Services
from matcher.domain import MatchStatus
from matcher.services import coordinators
from tests import factories
from tests.integration.conftest import Processes, eventually
from tests.pages_support import CSRF
from tests.real_parts import SmtpSink
from web.app import create_app

pytestmark = pytest.mark.integration


def suggested(services: Services, request_id: str) -> set[str]:
    with services.uow() as uow:
        return {m.volunteer_id for m in uow.matches.where(team_request_id=request_id, status=MatchStatus.SUGGESTED)}


def test_a_worker_suggests_an_anonymous_offer_only_once_its_address_is_confirmed(
    services: Services, clean: None, processes: Processes, smtp: SmtpSink
) -> None:
    on = replace(services, settings=replace(services.settings, confirm_emails=True))
    client = create_app(services_=on, test_config={"TESTING": True}).test_client()
    processes.worker()
    coordinators.create_coordinator(services.uow(), "lead@nhs.example", "a long passphrase", ["tower_hamlets"],
                                    services.clock)  # fmt: skip
    token = client.post("/api/v1/auth/token", json={"email": "lead@nhs.example", "password": "a long passphrase"})
    auth = {"Authorization": f"Bearer {token.json['token']}"}

    bob = client.post("/api/v1/volunteers", json=factories.offer(name="Bob Jones"), headers=auth).json
    nadia = client.post("/api/v1/volunteers", json=factories.offer(name="Nadia Islam", email="nadia@example.org")).json
    assert (bob["status"], nadia["status"]) == ("active", "unconfirmed")
    request_id = client.post(
        "/api/v1/team-requests", json=factories.team_request(roles=[{"role": "focus_group", "count": 2}])
    ).json["id"]

    # Two places, two people who fit: the worker suggests only the one whose address is vouched for.
    eventually(lambda: suggested(services, request_id) == {bob["id"]}, seconds=60)
    with services.engine.connect() as conn:  # type: ignore[union-attr]
        eventually(lambda: conn.execute(text("select count(*) from rescores_due")).scalar_one() == 0, seconds=30)
    assert suggested(services, request_id) == {bob["id"]}

    [letter] = eventually(lambda: smtp.to("nadia@example.org"), seconds=30)
    assert letter.message["Subject"] == "Please confirm your email address for your involvement offer"
    body = letter.part("text/plain").decode()
    link = re.search(r"http://qimatch\.test(/v/\S+)", body).group(1)  # type: ignore[union-attr]
    page = client.get(link)
    assert page.status_code == 200 and "Confirm my email address" in page.get_data(as_text=True)
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert client.post(link, data={"csrf_token": csrf}).status_code == 303

    eventually(lambda: suggested(services, request_id) == {bob["id"], nadia["id"]}, seconds=60)


def test_askings_at_one_moment_from_many_processes_still_send_three_links(services: Services, clean: None) -> None:
    """The hourly allowance is counted in PostgreSQL under the offer's row lock: twelve
    simultaneous askings (as from several web processes) owe three emails, not twelve."""
    from concurrent.futures import ThreadPoolExecutor

    from matcher.services import intake, links

    intake.register_volunteer(services.uow(), factories.offer(email="nadia@example.org"), services.clock)

    def ask(_: int) -> list[str]:
        return links.owe_links_for(services.uow(), "Nadia@example.org", services.clock)

    with ThreadPoolExecutor(max_workers=12) as pool:
        owed = list(pool.map(ask, range(12)))
    assert sum(len(keys) for keys in owed) == 3
    with services.engine.connect() as conn:  # type: ignore[union-attr]
        assert conn.execute(text("select count(*) from deliveries")).scalar_one() == 3
