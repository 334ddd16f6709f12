"""Retention on real parts: PostgreSQL, a Celery worker process, Redis and an SMTP server.

Two people inactive for 25 months. Two dispatcher runs at once ask each of them once;
the worker sends each one question. One presses "keep my details"; a month later two
runs at once erase the other, once, and keep the first.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from flask import Flask

from matcher.bootstrap import Services
from matcher.config import RetentionPolicy
from matcher.domain import ERASED_NAME, EventKind, ReviewStatus
from matcher.services import retention
from tests import factories
from tests.integration.conftest import Processes
from tests.pages_support import CSRF
from tests.real_parts import SmtpSink

pytestmark = pytest.mark.integration
POLICY = RetentionPolicy(months=24, grace_days=30)


class Later:
    """The system clock, moved on: the grace has passed."""

    def __init__(self, days: int) -> None:
        self.days = days

    def now(self) -> datetime:
        from matcher.adapters.clock import SystemClock

        return SystemClock().now() + timedelta(days=self.days)


def at_once(run: object, times: int = 2) -> list[dict[str, int]]:
    results: list[dict[str, int]] = []
    threads = [threading.Thread(target=lambda: results.append(run())) for _ in range(times)]  # type: ignore[operator]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_runs_ask_once_and_erase_once_and_an_answer_keeps(
    app: Flask, services: Services, smtp: SmtpSink, worker: Processes
) -> None:
    s = services
    long_ago = retention.months_before(s.clock.now(), 25)
    olwen = factories.volunteer(name="Olwen Answers", email="olwen@example.org", created_at=long_ago)
    idris = factories.volunteer(name="Idris Silent", email="idris@example.org", created_at=long_ago)
    with s.uow() as uow:
        for v in (olwen, idris):
            v.updated_at = long_ago
            uow.volunteers.add(v)
        uow.commit()

    asked = at_once(lambda: retention.dispatch_due(s.uow(), s.clock, POLICY, s.mailer))
    assert sum(r["asked"] for r in asked) == 2

    received = smtp.wait_for(2)
    assert sorted(r.envelope_to[0] for r in received) == ["idris@example.org", "olwen@example.org"]
    smtp.wait_for(3, seconds=3)  # nothing more comes
    assert len(smtp.received) == 2
    (to_olwen,) = smtp.to("olwen@example.org")
    text = to_olwen.part("text/plain").decode()
    secret = text.split("/keep/")[1].split()[0]

    client = app.test_client()
    page = client.get(f"/keep/{secret}").get_data(as_text=True)
    token = CSRF.search(page)
    assert token is not None and "Keep my details" in page
    assert client.post("/keep", data={"csrf_token": token.group(1), "secret": secret}).status_code == 303

    later = Later(days=31)
    runs = at_once(lambda: retention.dispatch_due(s.uow(), later, POLICY, s.mailer))
    assert sum(r["erased"] for r in runs) == 1 and sum(r["asked"] for r in runs) == 0

    with s.uow() as uow:
        gone, stays = uow.volunteers.get(idris.id), uow.volunteers.get(olwen.id)
        assert gone is not None and gone.name == ERASED_NAME and gone.erased
        assert stays is not None and stays.name == "Olwen Answers" and not stays.erased
        statuses = {r.volunteer_id: r.status for r in uow.reviews.where()}
        erasures = uow.events.where(kind=EventKind.VOLUNTEER_ERASED)
    assert statuses == {idris.id: ReviewStatus.ERASED, olwen.id: ReviewStatus.KEPT}
    assert [(e.volunteer_id, e.data) for e in erasures] == [(idris.id, {"reason": "retention"})]
