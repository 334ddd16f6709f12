"""Exactly once at the edges: what fault injection found, with fakes (the real-parts runs
are in tests/chaos/test_delivery_faults.py).

Each email is claimed by one owner, recorded as "handing" just before the point of no
return, and only then handed to the server.
"""

from __future__ import annotations

from typing import Any

import pytest

from matcher.adapters.letters import TemplateLetters
from matcher.config import MatchingConfig, Settings
from matcher.domain import Coordinator, MatchStatus
from matcher.errors import Unavailable
from matcher.ports import Email, Handing
from matcher.services import decisions, deliveries, intake, introductions, outgoing
from tests import factories
from tests.fakes import FakeClock, FakeDeliveries, FakeMailer, FakeUnitOfWork

CONFIG = MatchingConfig()
LEASE = 60


@pytest.fixture
def letters(tmp_path) -> TemplateLetters:  # type: ignore[no-untyped-def]
    return TemplateLetters(Settings.from_env({"QIMATCH_DATA_DIR": str(tmp_path), "QIMATCH_SECRET_KEY": "k"}))


def approved(uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator, **request: Any) -> str:
    volunteer = intake.register_volunteer(uow, factories.offer(), clock)
    team_request = intake.submit_request(uow, factories.team_request(**request), clock)
    return decisions.make_match(uow, team_request.id, volunteer.id, "focus_group", coordinator, CONFIG, clock).id


def send(uow: FakeUnitOfWork, mailer: Any, letters: TemplateLetters, key: str, clock: FakeClock) -> int:
    return outgoing.send_owed(uow, mailer, letters, key, clock, CONFIG, LEASE)


def test_a_worker_paused_past_its_lease_does_not_send_what_another_sent_meanwhile(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator, letters: TemplateLetters
) -> None:
    """Found: a sending task paused past the lease (GC pause, SIGSTOP) duplicated an email."""
    key = introductions.delivery_key(approved(uow, clock, coordinator), "team")
    mailer = FakeMailer()

    class PausedWorker(FakeMailer):
        def send(self, email: Email, handing: Handing | None = None) -> None:
            # Frozen here, after its claim: the lease runs out, the sweep queues the email
            # again, and another worker sends it. Then this one wakes up.
            clock.advance(seconds=LEASE + 1)
            assert key in outgoing.stalled(uow, clock, LEASE)
            assert send(uow, mailer, letters, key, clock) == 1
            super().send(email, handing)

    paused = PausedWorker()
    assert send(uow, paused, letters, key, clock) == 0
    assert len(mailer.sent) == 1 and paused.sent == []


def test_an_email_handed_over_with_no_answer_is_possibly_sent_never_sent_again_unless_asked(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator, letters: TemplateLetters
) -> None:
    match_id = approved(uow, clock, coordinator)
    key = introductions.delivery_key(match_id, "team")
    with pytest.raises(TimeoutError):
        send(uow, FakeMailer(no_answer_on=1), letters, key, clock)

    for _ in range(3):  # the sweep never sends it again by itself
        clock.advance(seconds=LEASE + 1)
        assert key not in outgoing.stalled(uow, clock, LEASE)
    [uncertain] = uow.events.where(match_id=match_id, kind="email.uncertain")
    assert uncertain.data["to"] == "team"

    # The coordinator's one click: owed again, and sent.
    assert deliveries.resend(uow, key, clock.now())
    assert uow.kinds(match_id=None)[-1] == "email.owed"
    mailer = FakeMailer()
    assert send(uow, mailer, letters, key, clock) == 1
    assert not deliveries.resend(uow, key, clock.now())  # a sent email is not resent


def test_a_database_blip_after_the_server_took_the_email_is_ridden_out_not_resent(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    coordinator: Coordinator,
    letters: TemplateLetters,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found: PostgreSQL down for 6 s inside the SMTP conversation duplicated 4 of 40."""
    monkeypatch.setattr(deliveries.time, "sleep", lambda s: None)
    key = introductions.delivery_key(approved(uow, clock, coordinator), "team")

    class Blipping(FakeDeliveries):
        blips = 3

        def mark_sent(self, key: str, message_id: str, now: Any) -> None:
            if self.blips:
                self.blips -= 1
                raise Unavailable()
            super().mark_sent(key, message_id, now)

    blipping = Blipping()
    vars(blipping).update(vars(uow.deliveries))  # what was owed so far
    uow.deliveries = blipping
    mailer = FakeMailer()
    assert send(uow, mailer, letters, key, clock) == 1
    clock.advance(seconds=LEASE + 1)
    assert key not in outgoing.stalled(uow, clock, LEASE)
    assert uow.deliveries.is_sent(key) and len(mailer.sent) == 1


def test_a_refused_address_is_given_up_at_once_and_the_other_party_still_introduced(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator, letters: TemplateLetters
) -> None:
    """Found: a team address refused with 550 held the volunteer's email and left the match stuck."""
    match_id = approved(uow, clock, coordinator, contact={"name": "Ward 5", "email": "nobody@ward5.example"})
    mailer = FakeMailer(refuse={"nobody@ward5.example"})

    sent = [send(uow, mailer, letters, introductions.delivery_key(match_id, p), clock) for p in ("team", "volunteer")]

    assert sent == [0, 1]
    [failed] = uow.events.where(match_id=match_id, kind="email.failed")
    assert (failed.data["to"], failed.data["reason"], failed.data["code"]) == ("team", "refused", 550)
    assert uow.matches.get(match_id).status == MatchStatus.INTRODUCED
    clock.advance(seconds=LEASE + 1)
    assert outgoing.stalled(uow, clock, LEASE) == []  # not tried again
    assert mailer.tries == 2


def test_the_sweep_queues_a_waiting_email_once_per_lease_not_on_every_run(
    uow: FakeUnitOfWork, clock: FakeClock, coordinator: Coordinator
) -> None:
    """Found: a backlog made the sweep queue 151 sends for 36 matches."""
    match_id = approved(uow, clock, coordinator)
    clock.advance(seconds=LEASE + 1)
    first = outgoing.stalled(uow, clock, LEASE)
    assert sorted(first) == sorted(introductions.delivery_key(match_id, p) for p in ("team", "volunteer"))
    clock.advance(seconds=LEASE / 2)
    assert outgoing.stalled(uow, clock, LEASE) == []  # still queued: not again
    clock.advance(seconds=LEASE)
    assert sorted(outgoing.stalled(uow, clock, LEASE)) == sorted(first)  # a lease on, still unsent: again
