"""The faults that once sent an email twice (or stranded one), on real parts.

Real PostgreSQL, Redis, Celery workers and beat, and a real SMTP server that can
refuse. Every email's Message-ID is derived from its delivery key, so the SMTP
server's log shows each one arriving once, twice or never.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from email.message import Message
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import text

from matcher.bootstrap import Services
from matcher.config import Settings
from matcher.domain import MatchStatus
from matcher.services import deliveries
from tests.chaos.tally import arrivals, each_arrived_once, expected, record, scaled
from tests.chaos.test_worker_crash import approve_many
from tests.integration.conftest import Processes, eventually
from tests.real_parts import CuttableProxy, PrivateRedis, SmtpSink
from workers.app import make_celery
from workers.wiring import wire

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def unsent(services: Services) -> list[tuple[str, str, int]]:
    """The deliveries not sent, with their status and tries: what a stuck scenario shows."""
    assert services.engine is not None
    with services.engine.connect() as conn:
        rows = conn.execute(text("select key, status, attempts from deliveries where status <> 'sent' order by key"))
        return [(r[0], r[1], r[2]) for r in rows]


def introduced(services: Services, match_ids: list[str]) -> int:
    with services.uow() as uow:
        return uow.matches.count(id=match_ids, status=MatchStatus.INTRODUCED)


def events(services: Services, kind: str) -> list[dict[str, object]]:
    with services.uow() as uow:
        return [dict(e.data) for e in uow.events.where(kind=kind, order_by="id")]


def test_a_worker_stopped_past_its_lease_sends_nothing_another_worker_sent(
    services: Services, processes: Processes, smtp: SmtpSink
) -> None:
    """SIGSTOP (a GC pause, a frozen VM) inside the SMTP conversation, past the lease."""
    frozen = processes.worker(concurrency=1)
    stopped = threading.Event()

    def freeze(address: str) -> str | None:
        if not stopped.is_set() and smtp.rcpts >= 5:
            stopped.set()
            os.killpg(frozen.pid, signal.SIGSTOP)  # holds its claim, mid-conversation
        return None

    smtp.on_rcpt = freeze
    match_ids = approve_many(services, scaled(10))
    eventually(stopped.is_set, seconds=60)
    processes.worker(concurrency=2)
    processes.beat()  # its sweep queues the frozen worker's email again after the lease
    # Every email has arrived, the frozen worker's too (sent by another after the lease).
    eventually(lambda: set(arrivals(smtp)) == expected(match_ids), seconds=scaled(120))
    log = processes.logs / "worker-0.log"

    def tasks_ended() -> int:
        text = log.read_text(errors="replace")
        return sum(text.count(word) for word in (" succeeded in ", " raised ", " retry: "))

    ended = tasks_ended()
    os.killpg(frozen.pid, signal.SIGCONT)  # it wakes, its claim long taken over
    eventually(lambda: tasks_ended() > ended, seconds=60)  # and finishes the send it was in

    eventually(lambda: introduced(services, match_ids) == len(match_ids), seconds=scaled(120))
    eventually(lambda: set(arrivals(smtp)) == expected(match_ids), seconds=scaled(60))
    processes.stop_all()
    each_arrived_once(smtp, match_ids)


def test_postgresql_gone_for_seconds_after_the_server_took_an_email_sends_it_once(
    services: Services, processes: Processes, smtp: SmtpSink
) -> None:
    """PostgreSQL unreachable for 6 s between the server's 250 and "sent" being recorded."""
    db = urlsplit(processes.env["QIMATCH_DATABASE_URL"])
    proxy = CuttableProxy(db.hostname or "127.0.0.1", db.port or 5432)
    through_proxy = db._replace(netloc=db.netloc.replace(f":{db.port or 5432}", f":{proxy.port}"))
    processes.env["QIMATCH_DATABASE_URL"] = urlunsplit(through_proxy)
    # A lease long enough to ride out the outage (half of it is spent retrying "sent").
    processes.env.update(QIMATCH_DELIVERY_LEASE_SECONDS="30", QIMATCH_EMAIL_TASK_SECONDS="25")
    cut = threading.Event()

    def outage(message: Message) -> str | None:
        if not cut.is_set() and len(smtp.received) >= 4:
            cut.set()
            proxy.cut(6)  # the worker's database goes away before it hears our 250
        return None

    smtp.before_accept = outage
    processes.worker(concurrency=2)
    processes.beat()
    try:
        match_ids = approve_many(services, scaled(20))
        eventually(lambda: introduced(services, match_ids) == len(match_ids), seconds=scaled(150))
    finally:
        processes.stop_all()
        proxy.close()
    assert cut.is_set()
    each_arrived_once(smtp, match_ids)
    assert events(services, "email.uncertain") == []


def test_sigterm_to_the_whole_worker_group_mid_burst_loses_nothing_and_sends_nothing_twice(
    services: Services, processes: Processes, smtp: SmtpSink
) -> None:
    """systemd's stop: SIGTERM to the worker and its pool children while they send."""
    stopping = processes.worker(concurrency=2)
    sent_term = threading.Event()

    def terminate(message: Message) -> str | None:
        if not sent_term.is_set() and len(smtp.received) >= 10:
            sent_term.set()
            os.killpg(stopping.pid, signal.SIGTERM)  # while this message waits for our 250
        return None

    smtp.before_accept = terminate
    match_ids = approve_many(services, scaled(30))
    eventually(sent_term.is_set, seconds=60)
    stopping.wait(timeout=60)
    processes.worker(concurrency=2)
    processes.beat()
    try:
        eventually(lambda: introduced(services, match_ids) == len(match_ids), seconds=scaled(150))
    except AssertionError:
        raise AssertionError(f"not all introduced; emails not sent: {unsent(services)}") from None
    processes.stop_all()
    each_arrived_once(smtp, match_ids)
    assert events(services, "email.uncertain") == []


def test_a_refused_address_is_given_up_at_once_and_the_other_party_is_introduced(
    services: Services, processes: Processes, smtp: SmtpSink
) -> None:
    """A team address refused with 550 no longer holds up the volunteer or the match."""
    refused: list[str] = []

    def refuse_first_team(address: str) -> str | None:
        if address.startswith("team") and (not refused or refused[0] == address):
            refused.append(address)
            return "550 5.1.1 no such mailbox here"
        return None

    smtp.on_rcpt = refuse_first_team
    processes.worker(concurrency=2)
    processes.beat()
    match_ids = approve_many(services, scaled(3))
    eventually(lambda: introduced(services, match_ids) == len(match_ids), seconds=scaled(90))
    # Past the lease and a few sweeps: the refused address is never tried again.
    lease = int(processes.env["QIMATCH_DELIVERY_LEASE_SECONDS"])
    eventually(lambda: len(events(services, "email.failed")) == 1, seconds=30)
    threading.Event().wait(lease + 4)
    processes.stop_all()
    assert len(refused) == 1
    [failed] = events(services, "email.failed")
    assert (failed["to"], failed["reason"], failed["code"]) == ("team", "refused", 550)
    each_arrived_once(smtp, match_ids, refused=1)


def test_killed_after_handing_over_is_possibly_sent_and_a_resend_delivers_it_once(
    services: Services, processes: Processes, smtp: SmtpSink
) -> None:
    """SIGKILL after the final dot, before the server's answer: unknowable, so never resent blindly."""
    doomed = processes.worker(concurrency=1)
    killed = threading.Event()

    def die_after_the_dot(message: Message) -> str | None:
        if not killed.is_set() and len(smtp.received) >= 3:
            killed.set()
            processes.kill9(doomed)
            return "451 4.3.0 connection lost"  # it was not delivered after all
        return None

    smtp.before_accept = die_after_the_dot
    match_ids = approve_many(services, scaled(5))
    eventually(killed.is_set, seconds=60)
    processes.worker(concurrency=2)
    processes.beat()
    eventually(lambda: len(events(services, "email.uncertain")) == 1, seconds=90)
    assert introduced(services, match_ids) == len(match_ids) - 1
    [uncertain] = events(services, "email.uncertain")

    # The coordinator sees "possibly sent", asks the person, and resends with one click.
    assert deliveries.resend(services.uow(), str(uncertain["key"]), services.clock.now())
    eventually(lambda: introduced(services, match_ids) == len(match_ids), seconds=scaled(60))
    processes.stop_all()
    each_arrived_once(smtp, match_ids, possibly_sent=1)


def test_redis_killed_and_restarted_mid_burst_loses_no_email_and_sends_none_twice(
    services: Services, processes: Processes, smtp: SmtpSink
) -> None:
    """Redis keeps nothing on disk here: a restart loses every message in it."""
    broker = PrivateRedis()
    processes.env["QIMATCH_BROKER_URL"] = broker.url
    settings = Settings.from_env(processes.env)
    on_private_broker = wire(settings, celery=make_celery(settings))
    restarted = threading.Event()

    def restart(message: Message) -> str | None:
        if not restarted.is_set() and len(smtp.received) >= 10:
            restarted.set()
            broker.kill()
            threading.Timer(2, broker.start).start()
        return None

    smtp.before_accept = restart
    processes.worker(concurrency=2)
    processes.beat()
    try:
        match_ids = approve_many(on_private_broker, scaled(30))
        eventually(lambda: introduced(services, match_ids) == len(match_ids), seconds=scaled(180))
    finally:
        processes.stop_all()
        broker.kill()
    assert restarted.is_set()
    each_arrived_once(smtp, match_ids)


def test_two_beats_by_mistake_send_nothing_twice(services: Services, processes: Processes, smtp: SmtpSink) -> None:
    """Two schedulers (a deployment mistake) run every periodic task twice."""
    processes.worker(concurrency=2)
    processes.beat()
    processes.beat()
    match_ids = approve_many(services, scaled(20))
    eventually(lambda: introduced(services, match_ids) == len(match_ids), seconds=scaled(120))
    # Long enough for both sweeps to run several times over anything unsent.
    threading.Event().wait(int(processes.env["QIMATCH_DELIVERY_LEASE_SECONDS"]) + 5)
    processes.stop_all()
    each_arrived_once(smtp, match_ids)


def test_a_dead_workers_task_comes_back_after_the_visibility_timeout_not_minutes_later(
    services: Services, processes: Processes, smtp: SmtpSink
) -> None:
    """Found: with QIMATCH_VISIBILITY_TIMEOUT=10 redelivery took about 80 s (kombu scanned on
    every 10th 10-second tick only)."""
    # Long enough that the next worker's first scan (at its start) comes too early to restore it.
    processes.env["QIMATCH_VISIBILITY_TIMEOUT"] = "20"
    doomed = processes.worker(concurrency=1)
    killed = threading.Event()

    def die(address: str) -> str | None:
        if not killed.is_set():
            killed.set()
            processes.kill9(doomed)  # the whole group: its message stays unacknowledged in Redis
            return "451 4.3.0 connection lost"
        return None

    smtp.on_rcpt = die
    approve_many(services, 1)
    eventually(killed.is_set, seconds=60)
    first_log = (processes.logs / "worker-0.log").read_text()
    held = re.findall(r"Task (qimatch\.send_email\[[0-9a-f-]+\]) received", first_log)
    assert held, "the worker never took a sending task"
    killed_at = time.monotonic()
    processes.worker(concurrency=1)
    visibility = int(processes.env["QIMATCH_VISIBILITY_TIMEOUT"])
    # Back within about the visibility timeout (plus a restore tick and start-up), not 80 s.
    eventually(lambda: held[-1] in (processes.logs / "worker-1.log").read_text(), seconds=2 * visibility + 5)
    record(visibility_timeout_s=visibility, redelivered_after_s=round(time.monotonic() - killed_at, 1))
    processes.stop_all()
