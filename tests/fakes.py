"""In-memory stand-ins for the store, the clock and the mailer: unit tests only."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from matcher import domain
from matcher.ports import Email
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


class FakeDeliveries:
    def __init__(self) -> None:
        self.claims: dict[str, tuple[str, datetime]] = {}
        self.attempts: dict[str, int] = {}

    def owe(self, key: str, now: datetime) -> None:
        assert key not in self.claims, f"owed twice: {key}"  # the table's unique key
        self.claims[key] = ("owed", now)
        self.attempts[key] = 0

    def claim(self, key: str, now: datetime, lease_seconds: int, max_attempts: int = 5) -> bool:
        held = self.claims.get(key)
        stale = held is not None and held[0] == "claimed" and held[1] < now - timedelta(seconds=lease_seconds)
        owed = held is not None and held[0] == "owed"
        if held is None or ((stale or owed) and self.attempts[key] < max_attempts):
            self.claims[key] = ("claimed", now)
            self.attempts[key] = self.attempts.get(key, 0) + 1
            return True
        return False

    def drop(self, key: str, now: datetime) -> None:
        self.claims[key] = ("dropped", now)

    def unsent(self, before: datetime) -> list[str]:
        return [k for k, (status, at) in self.claims.items() if status in ("owed", "claimed") and at < before]

    def give_up(self, key: str, max_attempts: int = 5) -> bool:
        if self.claims.get(key, ("", now_utc()))[0] == "claimed" and self.attempts[key] >= max_attempts:
            self.claims[key] = ("failed", self.claims[key][1])
            return True
        return False

    def exhausted(self, key: str, max_attempts: int = 5) -> bool:
        status = self.claims.get(key, ("", now_utc()))[0]
        return status in ("claimed", "failed") and self.attempts.get(key, 0) >= max_attempts

    def mark_sent(self, key: str, message_id: str, now: datetime) -> None:
        self.claims[key] = ("sent", now)

    def is_sent(self, key: str) -> bool:
        return self.claims.get(key, ("", now_utc()))[0] == "sent"


def now_utc() -> datetime:
    return datetime.now(UTC)


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
    def __init__(self, fail_on: int | None = None) -> None:
        self.sent: list[Email] = []
        self.fail_on = fail_on

    def send(self, email: Email) -> None:
        if self.fail_on is not None and len(self.sent) + 1 == self.fail_on:
            self.fail_on = None
            raise ConnectionError("the SMTP server went away")
        self.sent.append(email)
