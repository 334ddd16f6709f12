"""Killing the worker mid-send of a text loses none and sends none twice.

Two kills, each with SIGKILL to the worker's whole process group while GOV.UK Notify (the
local test server, with the real client and its JWT) has a text in hand: the first before
Notify recorded it, the second after Notify recorded it but before its answer got back.
Either way the delivery is left "handing". A lease later the sweep asks Notify for the
text's reference (its delivery key): not there, it is sent again; there, it is marked sent.
Every phone-preferring volunteer's introduction text reaches Notify exactly once, and every
email reaches the SMTP server exactly once.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from matcher.bootstrap import Services
from matcher.domain import EventKind
from matcher.services import introductions, texts
from tests.chaos.tally import each_arrived_once, record, scaled
from tests.chaos.test_worker_crash import approve_many
from tests.integration.conftest import Processes, eventually
from tests.notify_server import NotifyServer, Received
from tests.real_parts import SmtpSink

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def approve_phone_preferring(services: Services, n: int) -> list[str]:
    return approve_many(services, n, phone="07700 900{i:03d}", preferred_contact="phone")


def test_kill_9_mid_text_then_restart_sends_every_introduction_text_exactly_once(
    services: Services, processes: Processes, smtp: SmtpSink, notify: NotifyServer, clean: None
) -> None:
    approvals = scaled(12)
    workers = [processes.worker(concurrency=1)]
    before, after = threading.Event(), threading.Event()
    posts = Counter[str]()

    def die_before_notify_records(body: dict[str, Any]) -> int | None:
        posts["seen"] += 1
        if not before.is_set() and posts["seen"] >= 4:
            before.set()
            processes.kill9(workers[0])
            return 503  # nobody is listening any more; the text was not recorded
        return None

    def die_before_the_answer(text: Received) -> None:
        if before.is_set() and not after.is_set() and len(workers) == 2 and len(notify.received) >= 7:
            after.set()
            processes.kill9(workers[1])

    notify.before_accept = die_before_notify_records
    notify.after_accept = die_before_the_answer
    match_ids = approve_phone_preferring(services, approvals)
    eventually(before.is_set, seconds=90)
    workers.append(processes.worker(concurrency=1))
    eventually(after.is_set, seconds=90)

    processes.worker(concurrency=2)
    processes.beat()  # its sweep settles the handed texts by reference, and sends what never arrived
    want = {texts.key_for(introductions.delivery_key(m, "volunteer")) for m in match_ids}

    def all_texts_sent() -> bool:
        uow = services.uow()
        return all(uow.deliveries.status(k) == "sent" for k in want)

    eventually(all_texts_sent, seconds=scaled(120))
    smtp.wait_for(2 * approvals, seconds=scaled(120))
    processes.stop_all()

    counts = Counter(t.reference for t in notify.received)
    with services.uow() as uow:
        settled = [e for e in uow.events.where(kind=EventKind.TEXT_SENT) if e.data.get("settled")]
    record(
        texts_settled_by_reference=len(settled),
        texts_expected=len(want),
        texts_once=sum(1 for k in want if counts[k] == 1),
        texts_twice_or_more=sum(1 for k in want if counts[k] > 1),
        texts_missing=sum(1 for k in want if counts[k] == 0),
    )
    assert set(counts) == want, f"missing: {sorted(want - set(counts))}, unexpected: {sorted(set(counts) - want)}"
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
    assert len(settled) == 1, "the text Notify took as its worker died is marked sent by asking Notify"
    each_arrived_once(smtp, match_ids)
