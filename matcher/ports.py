"""The small interfaces use cases take as arguments: store, mail, texts, clock.

Production wires the SQLAlchemy store, an SMTP or folder mailer and the system
clock (``matcher.bootstrap``); unit tests pass the fakes in ``tests/fakes.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from matcher import domain, outreach, payments, team_chats
from matcher.calls import Call
from matcher.content import ContentVersion
from matcher.programme_sessions import Booking, ProgrammeSession

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
    """One row per email under a unique key.

    owed -> claimed (by one owner) -> handing (recorded just before the point of no
    return) -> sent; or dropped (no longer wanted), failed (refused for good, or tried
    ``max_attempts`` times), uncertain (handed over and no answer came: possibly sent,
    never sent again unless a coordinator asks).
    """

    def owe(self, key: str, now: datetime) -> None:
        """Inside the unit of work's transaction: an email is owed (a worker claims and sends it)."""
        ...

    def claim(
        self, key: str, now: datetime, lease_seconds: int, owner: str = "", max_attempts: int = MAX_ATTEMPTS
    ) -> bool:
        """True for exactly one caller per key: an owed email, or a claim gone stale unsent
        (at most max_attempts times). The claim records its owner."""
        ...

    def hand(self, key: str, owner: str, now: datetime) -> bool:
        """Committed at once: the email is being handed to the server, if the claim is still
        this owner's. False means another worker holds it now: do not send."""
        ...

    def unhand(self, key: str, owner: str) -> None:
        """The server certainly did not take it after all (a 4xx answer): claimed again, to lapse."""
        ...

    def refuse(self, key: str, now: datetime) -> bool:
        """Refused for good (5xx): failed at once; True the one time it happens."""
        ...

    def drop(self, key: str, now: datetime) -> None:
        """A claimed email no longer wanted (the chat ended, the person is gone): never sent."""
        ...

    def unsent(self, before: datetime, now: datetime) -> list[str]:
        """Keys owed or claimed before ``before``, still not sent, and not queued again since
        ``before``: each is stamped as queued again ``now``, so a backlog is not re-queued."""
        ...

    def uncertain(self, before: datetime) -> list[str]:
        """Keys handed over before ``before`` with no answer recorded: now "possibly sent",
        returned the one time each changes."""
        ...

    def handed(self, before: datetime, prefix: str) -> list[str]:
        """Keys starting ``prefix`` handed over before ``before`` with no answer recorded."""
        ...

    def release(self, key: str) -> None:
        """A handed-over message the service certainly never received: claimed again (stale), to
        be sent by the sweep."""
        ...

    def settle(self, key: str, message_id: str, now: datetime) -> bool:
        """Inside the unit of work: a handed-over message the service says it has: sent."""
        ...

    def receipt(self, message_id: str, receipt: str, now: datetime) -> str | None:
        """A text's delivery receipt from Notify, by its notification id: the delivery's key the
        first time this receipt is recorded for it, else None (a repeat, or an unknown id)."""
        ...

    def resend(self, key: str, now: datetime) -> bool:
        """A coordinator's resend of a possibly-sent or failed email: owed again."""
        ...

    def give_up(self, key: str, max_attempts: int = MAX_ATTEMPTS) -> bool:
        """Mark an email tried max_attempts times as failed; True the one time it happens."""
        ...

    def exhausted(self, key: str, max_attempts: int = MAX_ATTEMPTS) -> bool:
        """Claimed max_attempts times and never sent: given up."""
        ...

    def mark_sent(self, key: str, message_id: str, now: datetime) -> None:
        """Inside the unit of work's transaction, with the email.sent event."""
        ...

    def status(self, key: str) -> str | None: ...

    def is_sent(self, key: str) -> bool: ...

    def listed(self, prefixes: Collection[str]) -> list[domain.Delivery]:
        """Every email whose key starts with one of ``prefixes``, oldest first: what a
        person's data export lists of the emails sent to them."""
        ...

    def owed_since(self, prefixes: list[str], since: datetime) -> int:
        """Inside the unit of work: how many emails whose keys start with one of ``prefixes``
        were owed (or last claimed) at or after ``since``, whatever became of them."""
        ...


class Rescores(Protocol):
    """The durable queue of rescores due: a row per event that asked for one (written with
    the event, in its transaction), taken many at a time and deleted when done."""

    def take(self, limit: int) -> list[domain.RescoreDue]:
        """Inside the unit of work: the oldest rows no other worker holds, locked until commit."""
        ...

    def done(self, taken: list[domain.RescoreDue]) -> None:
        """Inside the same unit of work: these are done (gone on commit, back on rollback)."""
        ...


class MatchingReads(Protocol):
    """What a worker's kept population of encoded volunteers reads to stay current
    (``matcher.services.population``), and the one count a rescore needs per event."""

    def horizon(self) -> int:
        """Inside the unit of work: a mark every write committed from now on is at or above."""
        ...

    def changed_since(self, mark: int) -> list[str]:
        """Volunteers whose offer, status or standing was written at or after ``mark``."""
        ...

    def active_ids(self) -> list[str]: ...

    def active_count(self) -> int: ...

    def held_elsewhere(self, request_ids: Collection[str]) -> dict[str, int]:
        """Per volunteer, places held by their proposed suggestions on requests not in ``request_ids``."""
        ...


class RetentionReads(Protocol):
    """Who has been inactive, for retention (``matcher.services.retention``).

    A volunteer's activity, from what is stored: registering or any change to their
    offer or status (``updated_at``: theirs, or a coordinator's on their behalf); a match
    of theirs approved, introduced or closed (its ``updated_at``), and any commitment they
    still hold (active now); signing in through their private link (``volunteer.signed_in``);
    answering "keep my details" (a kept review's ``answered_at``). Suggestions and
    rejections are the programme's doing, not theirs, and do not count.
    """

    def inactive_volunteers(self, before: datetime, limit: int) -> list[str]:
        """Volunteers not erased and with no review open, with no activity at or after
        ``before``: the longest inactive first."""
        ...

    def active_since(self, volunteer_id: str, since: datetime) -> bool:
        """Whether the volunteer did anything at or after ``since`` (or holds a commitment)."""
        ...

    def closed_requests(self, before: datetime, limit: int) -> list[str]:
        """Requests closed before ``before`` whose contact is not erased yet."""
        ...


class ContentVersions(Repository[ContentVersion], Protocol):
    def latest(self, key: str, for_update: bool = False) -> ContentVersion | None:
        """The newest version; ``for_update`` locks it until commit (two saves, one after the other)."""
        ...

    def history(self, key: str, limit: int = 50) -> list[ContentVersion]:
        """Newest first."""
        ...

    def edited_keys(self) -> dict[str, ContentVersion]:
        """The newest version of every key that has one."""
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
    feedback_forms: Repository[domain.FeedbackForm]
    feedback_answers: Repository[domain.FeedbackAnswer]
    digests: Repository[domain.Digest]
    outreach_events: Repository[outreach.OutreachEvent]
    meeting_suggestions: Repository[outreach.MeetingSuggestion]
    team_chats: Repository[team_chats.TeamChat]
    audit: Repository[domain.AuditEntry]
    content: ContentVersions
    reviews: Repository[domain.RetentionReview]
    retention: RetentionReads
    programme_sessions: Repository[ProgrammeSession]
    bookings: Repository[Booking]
    payment_accounts: Repository[payments.PaymentAccount]
    rates: Repository[payments.Rate]
    activities: Repository[payments.Activity]
    payment_lines: Repository[payments.PaymentLine]
    finance_exports: Repository[payments.FinanceExport]
    calls: Repository[Call]
    deliveries: Deliveries
    rescores: Rescores
    matching_reads: MatchingReads

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def purge_residue(self) -> None:
        """After an erasure, outside a transaction: nothing erased lingers in the store's files."""
        ...


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


class NotSent(Exception):
    """The mail server did not take the email: certain, so trying again cannot duplicate it.

    ``permanent`` for a 5xx refusal (an address that does not exist): trying again cannot help.
    """

    def __init__(self, reason: str, permanent: bool = False, code: int | None = None) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.code = code


class NotHanded(NotSent):
    """``handing`` said no at the point of no return: the claim is not ours any more."""

    def __init__(self) -> None:
        super().__init__("the claim was lost before the email was handed over")


# Called once the whole message is written and just before the point of no return
# (SMTP's final dot): records "handed to the server" and says whether to go on.
Handing = Callable[[], bool]


class Mailer(Protocol):
    def forget(self, address: str) -> int:
        """Erasure: remove every copy of emails to this address this mailer keeps; how many."""
        ...

    def send(self, email: Email, handing: Handing | None = None) -> None:
        """Send one email. Raises ``NotSent`` when the server certainly did not take it
        (``NotHanded`` if ``handing`` said no); any other failure after ``handing`` said
        yes leaves it unknown whether the email went."""
        ...


@dataclass(frozen=True)
class Text:
    """One text message (SMS) to a UK mobile number, in E.164."""

    to: str
    body: str
    reference: str  # the delivery key: Notify keeps it with the text, and a duplicate is recognisable

    @property
    def message_id(self) -> str:
        return self.reference  # until the texter names its own (Notify's notification id)


class Texter(Protocol):
    """Sends texts: GOV.UK Notify in production, a folder for the embedded default."""

    def forget(self, number: str) -> int:
        """Erasure: remove every copy of texts to this number this texter keeps; how many."""
        ...

    def send(self, text: Text, handing: Handing | None = None) -> str:
        """Send one text; returns its id at the service (Notify's notification id). Raises
        ``NotSent`` when the service certainly did not take it (``NotHanded`` if ``handing``
        said no); any other failure after ``handing`` leaves it unknown whether it went."""
        ...

    def find(self, reference: str) -> str | None:
        """The id of a text sent under ``reference`` (a delivery key), None if there is none:
        what settles a send whose answer never came. Raises if the service cannot say."""
        ...


class Sender(Protocol):
    """What the delivery loop sends through, one per channel: a ``Mailer`` or a ``Texter``.
    ``send`` may return the service's own id for the message (kept on the delivery)."""

    def send(self, message: Any, handing: Handing | None = None) -> str | None: ...


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

    def team_chat(
        self, letter: str, party: str, chat: team_chats.TeamChat, coordinator: domain.Coordinator, key: str
    ) -> Email:
        """An informal chat about involvement for a team ("team" or "coordinator"): booked or cancelled."""
        ...

    def private_link(
        self, purpose: str, subject: domain.Volunteer | domain.TeamRequest, secret: str, key: str
    ) -> Email:
        """A volunteer's sign-in link or a team's status link, carrying its fresh secret."""
        ...

    def coordinator_link(
        self, purpose: str, coordinator: domain.Coordinator, secret: str, key: str, valid_for: timedelta
    ) -> Email:
        """An invitation to set a first password, or a password reset, carrying its fresh secret."""
        ...

    def retention_question(self, volunteer: domain.Volunteer, secret: str, erase_on: datetime, key: str) -> Email:
        """Inactive for the retention period: keep my details? (a "keep" link carrying its secret)."""
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

    def session(
        self,
        stage: str,
        session: ProgrammeSession,
        booking: Booking,
        volunteer: domain.Volunteer,
        sequence: int,
        key: str,
    ) -> Email:
        """A session booking's email to the volunteer: "invitation" (a place, with the calendar
        entry), "waiting", "reminder", "cancellation" (the entry cancelled) or "off"."""
        ...

    def feedback_form(
        self,
        stage: str,
        party: str,
        follow_up: domain.FollowUp,
        match: domain.Match,
        request: domain.TeamRequest,
        volunteer: domain.Volunteer,
        secret: str,
        key: str,
    ) -> Email:
        """One side's feedback form after a follow-up chat ("form"), or its one "reminder"."""
        ...

    def feedback_alert(
        self,
        coordinator: domain.Coordinator,
        answer: domain.FeedbackAnswer,
        follow_up: domain.FollowUp,
        match: domain.Match,
        request: domain.TeamRequest,
        volunteer: domain.Volunteer,
        key: str,
    ) -> Email:
        """A poor answer, to one of the area's coordinators: codes and a link, not the person's words."""
        ...

    def digest(self, coordinator: domain.Coordinator, contents: Any, key: str) -> Email:
        """A coordinator's daily digest (``matcher.services.digest.Contents``), each item linked."""
        ...
