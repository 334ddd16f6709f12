"""In-memory stand-ins for the store, the clock and the mailer: unit tests only."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from matcher import calls, domain, outreach, payments, team_chats
from matcher.content import ContentVersion
from matcher.ports import Email, Handing, NotHanded, NotSent, Text
from matcher.programme_sessions import Booking, ProgrammeSession
from matcher.taxonomy import STARTING_TERMS

T = TypeVar("T")
_ids = itertools.count(1)


class FakeRepository(Generic[T]):
    def __init__(self) -> None:
        self.rows: dict[Any, T] = {}

    def add(self, obj: T) -> None:
        if getattr(obj, "id", None) is None:
            obj.id = next(_ids)  # type: ignore[attr-defined]
        self.rows[obj.id] = obj  # type: ignore[attr-defined]

    def get(self, id: Any, for_update: bool = False) -> T | None:
        return self.rows.get(id)

    def delete(self, obj: T) -> None:
        self.rows.pop(obj.id, None)  # type: ignore[attr-defined]

    def where(
        self,
        *,
        order_by: str = "created_at",
        limit: int | None = None,
        offset: int = 0,
        for_update: bool = False,
        **criteria: Any,
    ) -> list[T]:
        def matches(obj: T) -> bool:
            for name, want in criteria.items():
                have = getattr(obj, name)
                if isinstance(want, list | tuple | set | frozenset):
                    if have not in want:
                        return False
                elif have != want:
                    return False
            return True

        found = [o for o in self.rows.values() if matches(o)]
        found.sort(key=lambda o: (str(getattr(o, order_by, "") or ""), str(getattr(o, "id"))))  # noqa: B009
        return found[offset : None if limit is None else offset + limit]

    def count(self, **criteria: Any) -> int:
        return len(self.where(**criteria))


class FakeContent(FakeRepository[ContentVersion]):
    def latest(self, key: str, for_update: bool = False) -> ContentVersion | None:
        found = self.history(key, limit=1)
        return found[0] if found else None

    def history(self, key: str, limit: int = 50) -> list[ContentVersion]:
        return sorted((v for v in self.rows.values() if v.key == key), key=lambda v: -(v.id or 0))[:limit]

    def edited_keys(self) -> dict[str, ContentVersion]:
        return {v.key: v for v in sorted(self.rows.values(), key=lambda v: v.id or 0)}


def now_utc() -> datetime:
    return datetime.now(UTC)


class FakeDeliveries:
    """The deliveries table's states and rules (``SqlDeliveries``), in memory."""

    def __init__(self) -> None:
        self.claims: dict[str, tuple[str, datetime]] = {}
        self.attempts: dict[str, int] = {}
        self.owners: dict[str, str] = {}
        self.requeued: dict[str, datetime] = {}
        self.message_ids: dict[str, str] = {}
        self.receipts: dict[str, str] = {}

    def _status(self, key: str) -> str:
        return self.claims.get(key, ("", now_utc()))[0]

    def owe(self, key: str, now: datetime) -> None:
        assert key not in self.claims, f"owed twice: {key}"  # the table's unique key
        self.claims[key] = ("owed", now)
        self.attempts[key] = 0

    def claim(self, key: str, now: datetime, lease_seconds: int, owner: str = "", max_attempts: int = 5) -> bool:
        held = self.claims.get(key)
        stale = held is not None and held[0] == "claimed" and held[1] < now - timedelta(seconds=lease_seconds)
        owed = held is not None and held[0] == "owed"
        if held is None or ((stale or owed) and self.attempts[key] < max_attempts):
            self.claims[key] = ("claimed", now)
            self.attempts[key] = self.attempts.get(key, 0) + 1
            self.owners[key] = owner
            return True
        return False

    def hand(self, key: str, owner: str, now: datetime) -> bool:
        if self._status(key) == "claimed" and self.owners.get(key) == owner:
            self.claims[key] = ("handing", now)
            return True
        return False

    def unhand(self, key: str, owner: str) -> None:
        if self._status(key) == "handing" and self.owners.get(key) == owner:
            self.claims[key] = ("claimed", self.claims[key][1])

    def refuse(self, key: str, now: datetime) -> bool:
        if self._status(key) in ("claimed", "handing"):
            self.claims[key] = ("failed", now)
            return True
        return False

    def drop(self, key: str, now: datetime) -> None:
        self.claims[key] = ("dropped", now)

    def unsent(self, before: datetime, now: datetime) -> list[str]:
        due = [
            k
            for k, (status, at) in self.claims.items()
            if status in ("owed", "claimed") and at < before and self.requeued.get(k, before) <= before
        ]
        for k in due:
            self.requeued[k] = now
        return due

    def uncertain(self, before: datetime) -> list[str]:
        due = [k for k, (status, at) in self.claims.items() if status == "handing" and at < before]
        for k in due:
            self.claims[k] = ("uncertain", self.claims[k][1])
        return due

    def resend(self, key: str, now: datetime) -> bool:
        if self._status(key) in ("uncertain", "failed"):
            self.claims[key] = ("owed", now)
            self.attempts[key] = 0
            self.requeued.pop(key, None)
            return True
        return False

    def give_up(self, key: str, max_attempts: int = 5) -> bool:
        if self._status(key) == "claimed" and self.attempts[key] >= max_attempts:
            self.claims[key] = ("failed", self.claims[key][1])
            return True
        return False

    def exhausted(self, key: str, max_attempts: int = 5) -> bool:
        return self._status(key) in ("claimed", "failed") and self.attempts.get(key, 0) >= max_attempts

    def mark_sent(self, key: str, message_id: str, now: datetime) -> None:
        self.claims[key] = ("sent", now)
        self.message_ids[key] = message_id

    def handed(self, before: datetime, prefix: str) -> list[str]:
        return [
            k for k, (status, at) in self.claims.items() if status == "handing" and at < before and k.startswith(prefix)
        ]

    def release(self, key: str) -> None:
        if self._status(key) == "handing":
            self.claims[key] = ("claimed", datetime.min.replace(tzinfo=now_utc().tzinfo))
            self.owners.pop(key, None)

    def settle(self, key: str, message_id: str, now: datetime) -> bool:
        if self._status(key) != "handing":
            return False
        self.mark_sent(key, message_id, now)
        return True

    def receipt(self, message_id: str, receipt: str, now: datetime) -> str | None:
        for key, mid in self.message_ids.items():
            if mid == message_id and key.startswith("text:") and self.receipts.get(key) != receipt:
                self.receipts[key] = receipt
                return key
        return None

    def status(self, key: str) -> str | None:
        return self._status(key) or None

    def is_sent(self, key: str) -> bool:
        return self._status(key) == "sent"

    def listed(self, prefixes: Any) -> list[domain.Delivery]:
        return [
            domain.Delivery(
                key=key,
                claimed_at=when,
                status=status,
                attempts=self.attempts.get(key, 0),
                sent_at=when if status == "sent" else None,
                message_id=self.message_ids.get(key),
                receipt=self.receipts.get(key),
            )
            for key, (status, when) in self.claims.items()
            if any(key.startswith(p) for p in prefixes)
        ]

    def owed_since(self, prefixes: list[str], since: datetime) -> int:
        return sum(1 for k, (_, at) in self.claims.items() if k.startswith(tuple(prefixes)) and at >= since)


class FakeRescores:
    """The rescores due, read off the fake event log: each event that asks for one, until done."""

    def __init__(self, events: FakeRepository[domain.Event]) -> None:
        self.events = events
        self.done_ids: set[int] = set()

    def take(self, limit: int) -> list[domain.RescoreDue]:
        due = []
        for event in sorted(self.events.rows.values(), key=lambda e: e.id or 0):
            rescore = event.rescore()
            if rescore is not None and event.id not in self.done_ids:
                due.append(domain.RescoreDue(event.id or 0, *rescore))
        return due[:limit]

    def done(self, taken: list[domain.RescoreDue]) -> None:
        self.done_ids.update(d.id for d in taken)


class FakeRetentionReads:
    """``RetentionReads``'s rule (``matcher.ports``), over the fake repositories."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    def active_since(self, volunteer_id: str, since: datetime) -> bool:
        u = self.uow
        v = u.volunteers.get(volunteer_id)
        if v is None:
            return False
        matches = u.matches.where(volunteer_id=volunteer_id)
        return (
            (v.created_at is not None and v.created_at >= since)
            or (v.updated_at is not None and v.updated_at >= since)
            or any(m.status in domain.MatchStatus.COMMITTED for m in matches)
            or any(m.status == domain.MatchStatus.CLOSED and m.updated_at and m.updated_at >= since for m in matches)
            or any(
                e.occurred_at >= since
                for e in u.events.where(volunteer_id=volunteer_id, kind=domain.EventKind.VOLUNTEER_SIGNED_IN)
            )
            or any(r.answered_at and r.answered_at >= since for r in u.reviews.where(volunteer_id=volunteer_id))
        )

    def inactive_volunteers(self, before: datetime, limit: int) -> list[str]:
        u = self.uow
        found = [
            v
            for v in u.volunteers.rows.values()
            if not v.erased
            and not self.active_since(v.id, before)
            and not u.reviews.where(volunteer_id=v.id, status=list(domain.ReviewStatus.OPEN))
        ]
        found.sort(key=lambda v: (v.updated_at or v.created_at or now_utc(), v.id))
        return [v.id for v in found[:limit]]

    def closed_requests(self, before: datetime, limit: int) -> list[str]:
        found = [
            r
            for r in self.uow.requests.rows.values()
            if r.status == domain.RequestStatus.CLOSED
            and r.contact_erased_at is None
            and r.updated_at is not None
            and r.updated_at < before
        ]
        found.sort(key=lambda r: (r.updated_at, r.id))
        return [r.id for r in found[:limit]]


class FakeUnitOfWork:
    """Commit publishes nothing and rollback restores nothing: enough for use-case logic."""

    def __init__(self) -> None:
        self.volunteers: FakeRepository[domain.Volunteer] = FakeRepository()
        self.requests: FakeRepository[domain.TeamRequest] = FakeRepository()
        self.matches: FakeRepository[domain.Match] = FakeRepository()
        self.follow_ups: FakeRepository[domain.FollowUp] = FakeRepository()
        self.coordinators: FakeRepository[domain.Coordinator] = FakeRepository()
        self.events: FakeRepository[domain.Event] = FakeRepository()
        self.terms: FakeRepository[domain.Term] = FakeRepository()
        self.access_tokens: FakeRepository[domain.AccessToken] = FakeRepository()
        self.feedback_forms: FakeRepository[domain.FeedbackForm] = FakeRepository()
        self.feedback_answers: FakeRepository[domain.FeedbackAnswer] = FakeRepository()
        self.digests: FakeRepository[domain.Digest] = FakeRepository()
        self.outreach_events: FakeRepository[outreach.OutreachEvent] = FakeRepository()
        self.meeting_suggestions: FakeRepository[outreach.MeetingSuggestion] = FakeRepository()
        self.team_chats: FakeRepository[team_chats.TeamChat] = FakeRepository()
        self.audit: FakeRepository[domain.AuditEntry] = FakeRepository()
        self.content = FakeContent()
        self.reviews: FakeRepository[domain.RetentionReview] = FakeRepository()
        self.retention = FakeRetentionReads(self)
        self.programme_sessions: FakeRepository[ProgrammeSession] = FakeRepository()
        self.bookings: FakeRepository[Booking] = FakeRepository()
        self.payment_accounts: FakeRepository[payments.PaymentAccount] = FakeRepository()
        self.rates: FakeRepository[payments.Rate] = FakeRepository()
        self.activities: FakeRepository[payments.Activity] = FakeRepository()
        self.payment_lines: FakeRepository[payments.PaymentLine] = FakeRepository()
        self.finance_exports: FakeRepository[payments.FinanceExport] = FakeRepository()
        self.calls: FakeRepository[calls.Call] = FakeRepository()
        self.deliveries = FakeDeliveries()
        self.rescores = FakeRescores(self.events)
        self.commits = 0
        for vocabulary, entries in STARTING_TERMS.items():
            for i, (code, label) in enumerate(entries):
                self.terms.add(domain.Term(vocabulary, code, label, i))

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        pass

    def purge_residue(self) -> None:
        pass

    def kinds(self, **about: Any) -> list[str]:
        return [e.kind for e in self.events.where(order_by="id", **about)]


class FakeClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class FakeMailer:
    """``fail_on``: the nth send fails before the hand-over (certainly not sent);
    ``refuse``: addresses the server refuses for good (550); ``no_answer_on``: the nth
    send is handed over and then the server's answer never comes (possibly sent)."""

    def __init__(
        self, fail_on: int | None = None, refuse: set[str] | None = None, no_answer_on: int | None = None
    ) -> None:
        self.sent: list[Email] = []
        self.fail_on = fail_on
        self.refuse = refuse or set()
        self.no_answer_on = no_answer_on
        self.tries = 0

    def forget(self, address: str) -> int:
        before = len(self.sent)
        self.sent = [e for e in self.sent if e.to.casefold() != address.casefold()]
        return before - len(self.sent)

    def send(self, email: Email, handing: Handing | None = None) -> None:
        self.tries += 1
        if self.fail_on is not None and len(self.sent) + 1 == self.fail_on:
            self.fail_on = None
            raise ConnectionError("the SMTP server went away")
        if email.to in self.refuse:
            raise NotSent("550 5.1.1 no such mailbox", permanent=True, code=550)
        if handing is not None and not handing():
            raise NotHanded()
        if self.no_answer_on == self.tries:
            raise TimeoutError("the server took the message and never answered")
        self.sent.append(email)


class FakeTexter:
    """Texts kept in a list; ``refuse``: numbers Notify refuses for good (a 400)."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.sent: list[Text] = []
        self.refuse = refuse or set()

    def forget(self, number: str) -> int:
        before = len(self.sent)
        self.sent = [t for t in self.sent if t.to != number]
        return before - len(self.sent)

    def send(self, text: Text, handing: Handing | None = None) -> str:
        if text.to in self.refuse:
            raise NotSent("400 BadRequestError: not a valid phone number", permanent=True, code=400)
        if handing is not None and not handing():
            raise NotHanded()
        self.sent.append(text)
        return f"notify-{len(self.sent)}"

    def find(self, reference: str) -> str | None:
        return next((f"notify-{i + 1}" for i, t in enumerate(self.sent) if t.reference == reference), None)
