"""Celery tasks: IDs in, one use case called, nothing else.

Each task may run twice (acks_late, redelivery) and re-reads the state it acts on.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from celery import Task
from celery.signals import worker_process_init
from sqlalchemy.exc import IntegrityError, OperationalError

from matcher.adapters import operations
from matcher.bootstrap import Services
from matcher.errors import Concurrent, Unavailable
from matcher.services import (
    deliveries,
    digest,
    feedback,
    follow_ups,
    introductions,
    outbox,
    outgoing,
    rescoring,
    retention,
    sessions,
    suggestions,
    texts,
    volunteer_self,
)
from workers import instruments
from workers.app import celery_app
from workers.publisher import celery_publisher
from workers.wiring import wire

log = logging.getLogger(__name__)
# Two workers rescoring one request at once collide on the unique match key;
# a short retry (seconds, not days) settles it.
# A database that went away (Unavailable) is retried too: a task that sent an email but could
# not record the match as introduced finishes the job when it runs again.
RETRY = {
    "autoretry_for": (Concurrent, Unavailable, IntegrityError, OperationalError),
    "retry_backoff": True,
    "max_retries": 8,
}


@contextmanager
def sigterm_held() -> Iterator[None]:
    """SIGTERM waits until the email in hand is sent and marked.

    systemd stops a service by sending SIGTERM to its whole process group, pool children
    included; a child that died between handing an email over and hearing the server's
    answer would leave it "possibly sent". The task's hard time limit (SIGKILL, below the
    lease) still bounds the wait.

    A Python-level handler for the length of the send, not a blocked signal mask: a mask
    holds for the thread that set it only, and a pool child has other threads (its
    published-marks and warm-up threads), any of which the kernel may hand a process-wide
    SIGTERM to. Python runs the handler in the main thread whichever thread took the
    signal. It is installed here, not at process start, because billiard installs its own
    after the worker's init hooks. (Found by the SIGTERM chaos scenario: emails left
    "possibly sent" once a child had a second thread.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are handled in the main thread; a threaded pool has nothing to hold
        return
    came: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: came.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        if came:
            signal.raise_signal(signal.SIGTERM)  # the SIGTERM that came meanwhile lands now


@cache
def services() -> Services:
    # Built lazily in each worker child, after the fork, so no connection is shared.
    return wire(celery=celery_app)


@worker_process_init.connect
def _warm_population(**_: object) -> None:
    """Each pool process loads the active volunteers as it starts, in the background, so the
    first event after a start does not wait seconds for it (an event arriving meanwhile waits
    on the population's lock, then finds it loaded)."""
    s = services()  # built here, once, before any task thread can race to build it
    if s.settings.database_url.startswith("sqlite"):
        return  # the embedded default: every transaction takes SQLite's one write lock, and it is small

    def warm() -> None:
        try:
            with s.uow() as uow:
                s.population.current(uow, s.settings.matching)
        except Exception:  # noqa: BLE001 - the first event loads it instead
            log.warning("warming the kept volunteers failed; the first event will load them", exc_info=True)

    threading.Thread(target=warm, name="warm-population", daemon=True).start()


@celery_app.task(name="qimatch.suggest_for_request", **RETRY)
def suggest_for_request(team_request_id: str) -> None:
    """Woken by a request's event: drains every rescore due, this one with the rest."""
    drain_rescores()


@celery_app.task(name="qimatch.rescore_for_volunteer", **RETRY)
def rescore_for_volunteer(volunteer_id: str) -> None:
    """Woken by a volunteer's event: drains every rescore due, this one with the rest."""
    drain_rescores()


@celery_app.task(name="qimatch.drain_rescores", **RETRY)
def drain_rescores() -> None:
    """Every rescore due, many per engine run. When a burst queues hundreds of messages,
    the first few tasks take all the rows and the rest find nothing left to do."""
    s = services()
    started = time.monotonic()
    runs = rescoring.drain(s.uow, s.settings.matching, s.clock, s.settings.rescore_batch, s.population)
    if runs:  # a drain that found nothing due ran no engine
        instruments.ENGINE_SECONDS.labels("rescore").observe(time.monotonic() - started)
        log.info("rescored %s", [(r.taken, r.requests) for r in runs])


@celery_app.task(name="qimatch.send_introductions", **RETRY)
def send_introductions(match_id: str) -> None:
    """Kept for messages queued before email.owed: each introduction now goes by send_email."""
    for party in introductions.PARTIES:
        send_email(introductions.delivery_key(match_id, party))


@celery_app.task(name="qimatch.send_follow_up", **RETRY)
def send_follow_up(follow_up_id: str, stage: str) -> None:
    """Kept for messages queued before email.owed: each follow-up email now goes by send_email."""
    for party in follow_ups.PARTIES:
        send_email(follow_ups.delivery_key(follow_up_id, stage, party))


@celery_app.task(name="qimatch.send_email", **RETRY)
def send_email(key: str) -> None:
    """One owed email, by its delivery key: claimed, written, sent, marked."""
    s = services()
    with sigterm_held():
        sent = outgoing.send_owed(
            s.uow(),
            s.mailer,
            s.letters,
            key,
            s.clock,
            s.settings.matching,
            s.settings.delivery_lease_seconds,
            s.settings.retention.grace_days,
        )
        letter, _ = deliveries.letter_of(key)
        # Inside the held block, so a SIGTERM that came meanwhile cannot lose the line that
        # says it went. The letter's kind and the key's ids only: who it went to stays out.
        log.info("email %s %s (%s)", letter, "sent" if sent else "not sent: already sent or no longer owed", key)


@celery_app.task(name="qimatch.send_text", **RETRY)
def send_text(key: str) -> None:
    """One owed text, by its delivery key: claimed, written, sent, marked (the email's loop)."""
    s = services()
    with sigterm_held():
        sent = texts.send_owed(
            s.uow(), s.texts, key, s.clock, s.settings.matching, s.settings.delivery_lease_seconds, s.settings.base_url
        )
        letter, _ = deliveries.letter_of(texts.email_key_of(key))
        # The letter's kind and the key's ids only: the number stays out of the log.
        log.info("text %s %s (%s)", letter, "sent" if sent else "not sent: already sent or no longer owed", key)


@celery_app.task(name="qimatch.dispatch_follow_ups")
def dispatch_follow_ups() -> None:
    s = services()
    counts = follow_ups.dispatch_due(s.uow(), s.clock, s.settings.matching)
    if any(counts.values()):
        log.info("follow-ups dispatched: %s", counts)


@celery_app.task(name="qimatch.dispatch_feedback")
def dispatch_feedback() -> None:
    """Feedback forms for chats whose time has passed, and the one reminder of each unanswered form."""
    s = services()
    counts = feedback.dispatch_due(s.uow(), s.clock, s.settings.matching)
    if any(counts.values()):
        log.info("feedback dispatched: %s", counts)


@celery_app.task(name="qimatch.dispatch_digests")
def dispatch_digests() -> None:
    """Each coordinator's daily digest whose time has come: owed once, or skipped when empty."""
    s = services()
    counts = digest.dispatch_due(s.uow(), s.clock, s.settings.matching)
    if counts["owed"] or counts["empty"]:
        log.info("digests dispatched: %s", counts)


@celery_app.task(name="qimatch.dispatch_retention", **RETRY)
def dispatch_retention() -> None:
    """People inactive for the retention period asked whether to keep their details; those
    who did not answer by the date erased; closed requests' contacts anonymised."""
    s = services()
    counts = retention.dispatch_due(s.uow(), s.clock, s.settings.retention, s.mailer, s.texts)
    if any(counts.values()):
        log.info("retention: %s", counts)


@celery_app.task(name="qimatch.dispatch_session_reminders")
def dispatch_session_reminders() -> None:
    """Session bookings whose reminder the day before is due: each owed once."""
    s = services()
    owed = sessions.dispatch_reminders(s.uow(), s.clock)
    if owed:
        log.info("session reminders owed: %s", owed)


@celery_app.task(name="qimatch.propose_assignment", **RETRY)
def propose_assignment() -> None:
    """The exact assignment across every open request, now and then (beat)."""
    s = services()
    with instruments.ENGINE_SECONDS.labels("assignment").time():
        figures = suggestions.propose_assignment(s.uow(), s.settings.matching, s.clock, s.population)
    log.info("assignment proposed: %s", figures)


@celery_app.task(name="qimatch.resume_paused_volunteers", **RETRY)
def resume_paused_volunteers() -> None:
    """A pause "until a date" ends by itself on that date."""
    s = services()
    volunteer_self.resume_due(s.uow(), s.clock)


@celery_app.task(name="qimatch.relay_outbox")
def relay_outbox() -> None:
    s = services()
    # Events younger than the grace period were published at commit and are being marked.
    grace = s.settings.relay_grace_seconds
    while outbox.relay(s.uow(), celery_publisher(celery_app), s.clock, grace_seconds=grace):
        pass


@celery_app.task(name="qimatch.sweep_stalled")
def sweep_stalled() -> None:
    """Emails and texts owed or claimed but left unsent (a dead worker, a lost message): queued
    again once their lease ran out; given up, and shown on the timeline, after five tries."""
    s = services()
    for key in outgoing.stalled(s.uow(), s.clock, s.settings.delivery_lease_seconds, s.texts):
        (send_text if deliveries.channel(key) == deliveries.TEXT else send_email).delay(key)


@celery_app.task(name="qimatch.canary", bind=True)
def canary(self: Task, queue: str) -> None:
    """Proof of consumption: the queue it came from, and the worker that took it, are alive.

    Beat sends one to each queue every QIMATCH_CANARY_SECONDS (readiness reads the queue's
    row); ``qimatch worker-health`` sends one to a single worker's own queue (its node's row).
    """
    s = services()
    assert s.engine is not None
    now = s.clock.now()
    if queue:  # worker-health's canary names no queue: it proves only its own worker
        operations.beat(s.engine, f"queue:{queue}", now)
    operations.beat(s.engine, f"node:{self.request.hostname}", now)
