"""Killing the worker with SIGKILL while feedback forms are in flight loses none and sends
none twice; the poor answers' alerts that follow each arrive once too.

Each email's Message-ID comes from its delivery key (``feedback:<form>:form``,
``feedback_alert:<answer>:<coordinator>``), so the SMTP server's log shows exactly which
arrived and how often.
"""

from __future__ import annotations

import threading

import pytest

from matcher.adapters.letters import message_id
from matcher.bootstrap import Services
from matcher.domain import Coordinator
from matcher.services import feedback
from tests.chaos.tally import arrivals, record, scaled
from tests.integration.conftest import Processes, eventually
from tests.integration.test_feedback_on_real_parts import held_chat
from tests.real_parts import SmtpSink

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def test_kill_9_mid_send_of_feedback_forms_then_every_form_and_alert_arrives_once(
    services: Services, processes: Processes, smtp: SmtpSink, clean: None
) -> None:
    chats = scaled(10)
    coordinator = Coordinator(
        email="lead@nhs.example", password_hash="-", areas=["tower_hamlets"], created_at=services.clock.now()
    )
    with services.uow() as uow:
        uow.coordinators.add(coordinator)
        uow.commit()
    match_ids = [held_chat(services, n=i + 1)["match_id"] for i in range(chats)]
    killed = threading.Event()
    first_worker = processes.worker(concurrency=1)

    def die_mid_send(address: str) -> str | None:
        # On the 7th message the worker dies inside the SMTP conversation, before the hand-over.
        if not killed.is_set() and len(smtp.received) >= 6:
            killed.set()
            processes.kill9(first_worker)
            return "451 4.3.0 connection lost"
        return None

    smtp.on_rcpt = die_mid_send
    assert feedback.dispatch_due(services.uow(), services.clock, services.settings.matching)["asked"] == 2 * chats
    eventually(killed.is_set, seconds=90)
    assert len(smtp.received) < 2 * chats, "the kill came after everything was sent"

    processes.worker(concurrency=2)
    processes.beat()  # its sweep re-sends what the dead worker left claimed but unsent
    smtp.wait_for(2 * chats, seconds=scaled(120))
    with services.uow() as uow:
        forms = uow.feedback_forms.where(match_id=match_ids)
    # Every volunteer answers poorly: one alert each to the one coordinator.
    answers = []
    for form in forms:
        if form.party == "volunteer":
            assert feedback.answer(services.uow(), form.id, {"rating": 1}, services.clock).recorded
            answers.append(form.id)
    smtp.wait_for(3 * chats, seconds=scaled(120))
    processes.stop_all()

    with services.uow() as uow:
        kept = uow.feedback_answers.where(form_id=answers)
    want = {message_id(feedback.delivery_key(f.id, feedback.FORM)) for f in forms} | {
        message_id(feedback.alert_key(a.id, coordinator.id)) for a in kept
    }
    counts = arrivals(smtp)
    record(expected=len(want), once=sum(1 for k in want if counts[k] == 1))
    assert len(want) == 3 * chats
    assert not sorted(k for k in want if counts[k] == 0), "missing"
    assert set(counts) <= want, sorted(set(counts) - want)
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
