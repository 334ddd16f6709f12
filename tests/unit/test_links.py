"""Private links and sessions, with the in-memory store."""

from __future__ import annotations

from datetime import timedelta

from matcher.domain import TokenPurpose
from matcher.services import links
from tests.fakes import FakeClock, FakeRepository, FakeUnitOfWork


def uow() -> FakeUnitOfWork:
    u = FakeUnitOfWork()
    u.access_tokens = FakeRepository()  # type: ignore[attr-defined]
    return u


def test_a_link_is_random_stored_hashed_and_expires() -> None:
    u, clock = uow(), FakeClock()
    a = links.issue(u, TokenPurpose.VOLUNTEER_LINK, "v1", clock)  # type: ignore[arg-type]
    b = links.issue(u, TokenPurpose.VOLUNTEER_LINK, "v1", clock)  # type: ignore[arg-type]
    assert a != b and len(a) >= 43  # 32 random bytes, base64url: 256 bits
    stored = list(u.access_tokens.rows)  # type: ignore[attr-defined]
    assert a not in stored and links.hash_secret(a) in stored
    # Only the newest link works: issuing b ended a.
    assert links.peek(u, a, TokenPurpose.VOLUNTEER_LINK, clock) is None  # type: ignore[arg-type]
    assert links.peek(u, b, TokenPurpose.VOLUNTEER_LINK, clock) is not None  # type: ignore[arg-type]
    clock.advance(days=8)
    assert links.peek(u, b, TokenPurpose.VOLUNTEER_LINK, clock) is None  # type: ignore[arg-type]
    assert links.redeem_link(u, b, clock) is None  # type: ignore[arg-type]


def test_looking_does_not_use_a_link_up_but_redeeming_does_once() -> None:
    u, clock = uow(), FakeClock()
    secret = links.issue(u, TokenPurpose.VOLUNTEER_LINK, "v1", clock)  # type: ignore[arg-type]
    for _ in range(3):
        assert links.peek(u, secret, TokenPurpose.VOLUNTEER_LINK, clock) is not None  # type: ignore[arg-type]
    first = links.redeem_link(u, secret, clock)  # type: ignore[arg-type]
    assert first is not None and first[0] == "v1"
    assert links.redeem_link(u, secret, clock) is None  # type: ignore[arg-type]
    assert links.peek(u, secret, TokenPurpose.VOLUNTEER_LINK, clock) is None  # type: ignore[arg-type]
    # A team's status link is not a volunteer's link, and the other way round.
    status = links.issue(u, TokenPurpose.REQUEST_STATUS, "r1", clock)  # type: ignore[arg-type]
    assert links.redeem_link(u, status, clock) is None  # type: ignore[arg-type]


def test_sessions_lapse_when_idle_and_end_at_sign_out() -> None:
    u, clock = uow(), FakeClock()
    s = links.start_session(u, TokenPurpose.COORDINATOR_SESSION, "c1", clock)  # type: ignore[arg-type]
    assert links.session_subject(u, s, TokenPurpose.COORDINATOR_SESSION, clock) == "c1"  # type: ignore[arg-type]
    assert links.session_subject(u, s, TokenPurpose.VOLUNTEER_SESSION, clock) is None  # type: ignore[arg-type]
    clock.advance(minutes=20)
    assert links.session_subject(u, s, TokenPurpose.COORDINATOR_SESSION, clock) == "c1"  # type: ignore[arg-type]
    clock.advance(minutes=31)
    assert links.session_subject(u, s, TokenPurpose.COORDINATOR_SESSION, clock) is None  # type: ignore[arg-type]
    clock.advance(minutes=-50)
    assert links.session_subject(u, s, TokenPurpose.COORDINATOR_SESSION, clock) is None  # ended for good

    t = links.start_session(u, TokenPurpose.COORDINATOR_SESSION, "c1", clock)  # type: ignore[arg-type]
    links.end_session(u, t, clock)  # type: ignore[arg-type]
    assert links.session_subject(u, t, TokenPurpose.COORDINATOR_SESSION, clock) is None  # type: ignore[arg-type]
    assert timedelta(minutes=30) == links.SESSION_IDLE


def test_a_private_link_is_owed_by_the_request_and_sent_once_by_the_worker(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from matcher.adapters.letters import TemplateLetters
    from matcher.config import MatchingConfig, Settings
    from matcher.services import intake, outgoing
    from tests import factories
    from tests.fakes import FakeMailer

    u, clock, mailer = uow(), FakeClock(), FakeMailer()
    letters = TemplateLetters(Settings.from_env({"QIMATCH_DATA_DIR": str(tmp_path), "QIMATCH_SECRET_KEY": "k"}))
    volunteer = intake.register_volunteer(u, factories.offer(name="Amina Begum"), clock)
    keys = [links.owe_private_link(u, TokenPurpose.VOLUNTEER_LINK, volunteer.id, clock) for _ in range(2)]  # type: ignore[arg-type]
    assert mailer.sent == [] and not list(u.access_tokens.rows)  # type: ignore[attr-defined]
    owed = [e.data["key"] for e in u.events.where(kind="email.owed")]
    assert owed == keys and len(set(keys)) == 2  # asking twice is two emails
    for key in keys * 2:  # the worker's task, run twice for each
        outgoing.send_owed(u, mailer, letters, key, clock, MatchingConfig(), 60)
    assert [e.to for e in mailer.sent] == [volunteer.email] * 2
    assert len({e.message_id for e in mailer.sent}) == 2
    first, latest = (e.text.split("/v/")[1].split()[0] for e in mailer.sent)
    assert links.peek(u, latest, TokenPurpose.VOLUNTEER_LINK, clock) is not None  # type: ignore[arg-type]
    assert links.peek(u, first, TokenPurpose.VOLUNTEER_LINK, clock) is None  # type: ignore[arg-type]
    assert mailer.sent[0].subject == "Your involvement offer: your private link"
