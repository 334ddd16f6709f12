"""Killing the worker with SIGKILL while introductions are in flight loses none and sends none twice.

How the test knows: every email's Message-ID is derived from its delivery key
(one per match and party), and the SMTP server records every message it
accepts. After recovery there must be exactly 100 accepted messages with 100
distinct Message-IDs, one for each expected key: none missing, none repeated.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from matcher.adapters.letters import message_id
from matcher.bootstrap import Services
from matcher.domain import Coordinator, MatchStatus
from matcher.services import decisions, intake
from matcher.services.introductions import delivery_key
from tests import factories
from tests.integration.conftest import Processes, eventually
from tests.real_parts import SmtpSink

pytestmark = pytest.mark.integration
APPROVALS = 50


def approve_many(services: Services, n: int) -> list[str]:
    coordinator = Coordinator(
        email="lead@nhs.example", password_hash="-", areas=["tower_hamlets"], created_at=services.clock.now()
    )
    with services.uow() as uow:
        uow.coordinators.add(coordinator)
        uow.commit()
    config, clock = services.settings.matching, services.clock
    match_ids = []
    for _ in range(n):
        volunteer = intake.register_volunteer(services.uow(), factories.offer(), clock)
        request = intake.submit_request(services.uow(), factories.team_request(), clock)
        match = decisions.make_match(
            services.uow(), request.id, volunteer.id, "focus_group", coordinator, config, clock
        )
        match_ids.append(match.id)
    return match_ids


def test_kill_9_mid_send_then_restart_delivers_every_introduction_exactly_once(
    services: Services, processes: Processes, smtp: SmtpSink, clean: None
) -> None:
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
    match_ids = approve_many(services, APPROVALS)
    eventually(killed.is_set, seconds=90)
    delivered_before_restart = len(smtp.received)
    assert delivered_before_restart < 2 * APPROVALS, "the kill came after everything was sent"

    processes.worker(concurrency=2)
    processes.beat()  # its sweep re-sends what a dead worker left claimed but unsent
    smtp.wait_for(2 * APPROVALS, seconds=120)

    def all_introduced() -> bool:
        with services.uow() as uow:
            return uow.matches.count(id=match_ids, status=MatchStatus.INTRODUCED) == APPROVALS

    eventually(all_introduced, seconds=120)
    processes.stop_all()

    expected = {message_id(delivery_key(m, party)) for m in match_ids for party in ("team", "volunteer")}
    counts = Counter(r.message_id for r in smtp.received)
    assert set(counts) == expected, f"missing: {len(expected - set(counts))}"
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
    assert len(smtp.received) == 2 * APPROVALS
