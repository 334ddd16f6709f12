"""Killing the worker with SIGKILL while introductions are in flight loses none and sends none twice.

How the test knows: every email's Message-ID is derived from its delivery key
(one per match and party), and the SMTP server records every message it
accepts. After recovery every expected Message-ID must be there exactly once:
none missing, none repeated.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from matcher.bootstrap import Services
from matcher.domain import Coordinator, MatchStatus
from matcher.services import decisions, intake
from tests import factories
from tests.chaos.tally import each_arrived_once, scaled
from tests.integration.conftest import Processes, eventually
from tests.real_parts import SmtpSink

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def approve_many(services: Services, n: int, **offer: Any) -> list[str]:
    """n approved matches, each a new volunteer (``offer`` fields; ``{i}`` in the phone is the index) and request."""
    coordinator = Coordinator(
        email="lead@nhs.example", password_hash="-", areas=["tower_hamlets"], created_at=services.clock.now()
    )
    with services.uow() as uow:
        uow.coordinators.add(coordinator)
        uow.commit()
    config, clock = services.settings.matching, services.clock
    match_ids = []
    for i in range(n):
        fields = {**offer, "phone": offer["phone"].format(i=i % 1000)} if "phone" in offer else offer
        volunteer = intake.register_volunteer(services.uow(), factories.offer(**fields), clock)
        request = intake.submit_request(services.uow(), factories.team_request(), clock)
        match = decisions.make_match(
            services.uow(), request.id, volunteer.id, "focus_group", coordinator, config, clock
        )
        match_ids.append(match.id)
    return match_ids


def test_kill_9_mid_send_then_restart_delivers_every_introduction_exactly_once(
    services: Services, processes: Processes, smtp: SmtpSink, clean: None
) -> None:
    approvals = scaled(50)
    killed = threading.Event()
    first_worker = processes.worker(concurrency=1)

    def die_mid_send(address: str) -> str | None:
        # On the 20th message the worker dies inside the SMTP conversation, before it
        # handed the message over: the claim is taken and the email is not delivered.
        if not killed.is_set() and len(smtp.received) >= 19:
            killed.set()
            processes.kill9(first_worker)
            return "451 4.3.0 connection lost"
        return None

    smtp.on_rcpt = die_mid_send
    match_ids = approve_many(services, approvals)
    eventually(killed.is_set, seconds=90)
    delivered_before_restart = len(smtp.received)
    assert delivered_before_restart < 2 * approvals, "the kill came after everything was sent"

    processes.worker(concurrency=2)
    processes.beat()  # its sweep re-sends what a dead worker left claimed but unsent
    smtp.wait_for(2 * approvals, seconds=scaled(120))

    def all_introduced() -> bool:
        with services.uow() as uow:
            return uow.matches.count(id=match_ids, status=MatchStatus.INTRODUCED) == approvals

    eventually(all_introduced, seconds=scaled(120))
    processes.stop_all()

    each_arrived_once(smtp, match_ids)
