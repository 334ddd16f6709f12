"""The small interfaces use cases take as arguments: store, mail, clock.

Production wires the SQLAlchemy store, an SMTP or folder mailer and the system
clock (``matcher.bootstrap``); unit tests pass the fakes in ``tests/fakes.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from matcher import domain

T = TypeVar("T")


class Repository(Protocol[T]):
    def add(self, obj: T) -> None: ...

    def get(self, id: Any, for_update: bool = False) -> T | None: ...

    def delete(self, obj: T) -> None: ...

    def where(
        self,
        *,
        order_by: str = "created_at",
        limit: int | None = None,
        offset: int = 0,
        for_update: bool = False,
        **criteria: Any,
    ) -> list[T]:
        """Objects whose attributes equal each criterion (a list, tuple or set means "one of")."""
        ...

    def count(self, **criteria: Any) -> int: ...


MAX_ATTEMPTS = 5  # tries at one email before it is given up and shown to the coordinator


class Deliveries(Protocol):
    """One row per email under a unique key: owed -> claimed -> sent (or dropped, or failed)."""

    def owe(self, key: str, now: datetime) -> None:
        """Inside the unit of work's transaction: an email is owed (a worker claims and sends it)."""
        ...

    def claim(self, key: str, now: datetime, lease_seconds: int, max_attempts: int = MAX_ATTEMPTS) -> bool:
        """True for exactly one caller per key: an owed email, or a claim gone stale unsent
        (at most max_attempts times)."""
        ...

    def drop(self, key: str, now: datetime) -> None:
        """A claimed email no longer wanted (the chat ended, the person is gone): never sent."""
        ...

    def unsent(self, before: datetime) -> list[str]:
        """Keys owed or claimed before ``before`` and still not sent, failed or dropped."""
        ...

    def give_up(self, key: str, max_attempts: int = MAX_ATTEMPTS) -> bool:
        """Mark an email tried max_attempts times as failed; True the one time it happens."""
        ...

    def exhausted(self, key: str, max_attempts: int = MAX_ATTEMPTS) -> bool:
        """Claimed max_attempts times and never sent: given up."""
        ...

    def mark_sent(self, key: str, message_id: str, now: datetime) -> None: ...

    def is_sent(self, key: str) -> bool: ...


class Rescores(Protocol):
    """The durable queue of rescores due: a row per event that asked for one (written with
    the event, in its transaction), taken many at a time and deleted when done."""

    def take(self, limit: int) -> list[domain.RescoreDue]:
        """Inside the unit of work: the oldest rows no other worker holds, locked until commit."""
        ...

    def done(self, taken: list[domain.RescoreDue]) -> None:
        """Inside the same unit of work: these are done (gone on commit, back on rollback)."""
        ...


class UnitOfWork(Protocol):
    volunteers: Repository[domain.Volunteer]
    requests: Repository[domain.TeamRequest]
    matches: Repository[domain.Match]
    follow_ups: Repository[domain.FollowUp]
    coordinators: Repository[domain.Coordinator]
    events: Repository[domain.Event]
    terms: Repository[domain.Term]
    access_tokens: Repository[domain.AccessToken]
    deliveries: Deliveries
    rescores: Rescores

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    data: bytes


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    message_id: str  # derived from the delivery key, so a duplicate is recognisable
    attachments: tuple[Attachment, ...] = ()


class Mailer(Protocol):
    def send(self, email: Email) -> None: ...


# Hands events to the broker; raises if the broker cannot take them.
Publisher = Callable[[Iterable[domain.Event]], None]


class Letters(Protocol):
    """Turns a moment of the workflow into an email for one party ("team" or "volunteer")."""

    def introduction(
        self, party: str, match: domain.Match, request: domain.TeamRequest, volunteer: domain.Volunteer, key: str
    ) -> Email: ...

    def meeting_change(
        self,
        letter: str,
        party: str,
        match: domain.Match,
        request: domain.TeamRequest,
        volunteer: domain.Volunteer,
        sequence: int,
        key: str,
    ) -> Email:
        """The introductory chat's calendar entry changed ("invitation") or is off ("cancellation")."""
        ...

    def private_link(
        self, purpose: str, subject: domain.Volunteer | domain.TeamRequest, secret: str, key: str
    ) -> Email:
        """A volunteer's sign-in link or a team's status link, carrying its fresh secret."""
        ...

    def follow_up(
        self,
        stage: str,
        party: str,
        follow_up: domain.FollowUp,
        match: domain.Match,
        request: domain.TeamRequest,
        volunteer: domain.Volunteer,
        key: str,
    ) -> Email: ...
