"""What qimatch is about: offers, team requests, matches and follow-up chats.

Plain dataclasses, mapped onto tables by ``matcher.adapters.orm`` so that the
use cases and the rules never see a database session.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from matcher import addresses
from matcher.errors import Conflict

# The name an erased volunteer's record keeps: the person is gone, the counts stay.
ERASED_NAME = "Erased volunteer"
ERASED_CONTACT = "Erased contact"


def new_id() -> str:
    return uuid.uuid4().hex


def normalise_email(address: str) -> str:
    """One address however it was typed: case, width, invisible characters and surrounding
    spaces do not make another person (``matcher.addresses``)."""
    return addresses.normalise(address)


class IllegalMove(Conflict):
    """A status change that the thing's life does not allow: a 409, in words."""


def _move(thing: Any, what: str, moves: dict[str, set[str]], to: str, done: str) -> None:
    """Change ``thing.status`` to ``to`` if ``moves`` allows it from where it is.

    ``what`` names the thing and ``done`` the move, for the refusal: "a rejected match
    cannot be approved".
    """
    if to not in moves.get(thing.status, set()):
        raise _refusal(thing, what, done)
    thing.status = to


def _refusal(thing: Any, what: str, done: str) -> IllegalMove:
    article = "an" if thing.status[:1] in "aeiou" else "a"
    return IllegalMove(f"{article} {thing.status} {what} cannot be {done}")


class VolunteerStatus:
    # An anonymous offer waits here until its email address is confirmed through the private
    # link: nobody is matched on an address they may not own. Never matchable.
    UNCONFIRMED = "unconfirmed"
    ACTIVE = "active"
    PAUSED = "paused"
    WITHDRAWN = "withdrawn"
    ALL = (UNCONFIRMED, ACTIVE, PAUSED, WITHDRAWN)
    # What a volunteer or a coordinator may set; confirming is only done through the link.
    CHOSEN = (ACTIVE, PAUSED, WITHDRAWN)
    # Holding an offer: at most one such volunteer per email address.
    LIVE = (UNCONFIRMED, ACTIVE, PAUSED)
    # A withdrawal is final: someone coming back signs up again and consents afresh.
    MOVES = {
        UNCONFIRMED: {ACTIVE, WITHDRAWN},
        ACTIVE: {PAUSED, WITHDRAWN},
        PAUSED: {ACTIVE, PAUSED, WITHDRAWN},
        WITHDRAWN: set(),
    }


class EmailConfirmation:
    """Who vouched for a volunteer's email address (``Volunteer.email_confirmed_by``)."""

    LINK = "link"  # the person opened the private link emailed to it and pressed Confirm
    NOT_ASKED = "not_asked"  # QIMATCH_CONFIRM_EMAILS was off when the offer came in
    # Otherwise the id of the coordinator account that entered the offer (a page or the API).


class RequestStatus:
    OPEN = "open"  # places still to fill
    FILLED = "filled"  # every role's count approved
    CLOSED = "closed"  # the team ended it; nothing more is sent
    ALL = (OPEN, FILLED, CLOSED)
    MOVES = {OPEN: {FILLED, CLOSED}, FILLED: {OPEN, CLOSED}, CLOSED: set()}


class MatchStatus:
    SUGGESTED = "suggested"
    APPROVED = "approved"
    REJECTED = "rejected"
    INTRODUCED = "introduced"
    CLOSED = "closed"
    ALL = (SUGGESTED, APPROVED, REJECTED, INTRODUCED, CLOSED)
    # A commitment is a match that holds a place and a slice of the volunteer's capacity.
    COMMITTED = (APPROVED, INTRODUCED)
    MOVES = {
        SUGGESTED: {APPROVED, REJECTED},
        APPROVED: {INTRODUCED, CLOSED},
        INTRODUCED: {CLOSED},
        REJECTED: set(),
        CLOSED: set(),
    }


class WithdrawalReason:
    """Why a suggestion nobody acted on was taken back (``match.suggestion_withdrawn``)."""

    NO_LONGER_ELIGIBLE = "no_longer_eligible"  # a hard rule now keeps the pair apart (codes in "rules")
    BETTER_CANDIDATES = "better_candidates"  # still eligible; others fit the places better
    VOLUNTEER_PAUSED = "volunteer_paused"
    VOLUNTEER_WITHDREW = "volunteer_withdrew"
    ROLE_FILLED = "role_filled"  # the request is still open for other roles
    REQUEST_FILLED = "request_filled"
    REQUEST_CLOSED = "request_closed"
    ALL = (
        NO_LONGER_ELIGIBLE,
        BETTER_CANDIDATES,
        VOLUNTEER_PAUSED,
        VOLUNTEER_WITHDREW,
        ROLE_FILLED,
        REQUEST_FILLED,
        REQUEST_CLOSED,
    )


class FollowUpStatus:
    SCHEDULED = "scheduled"
    INVITED = "invited"  # the invitation went out; a reminder is still due
    REMINDED = "reminded"
    CANCELLED = "cancelled"
    ALL = (SCHEDULED, INVITED, REMINDED, CANCELLED)
    TO_COME = (SCHEDULED, INVITED, REMINDED)  # not cancelled; held once its time has passed
    MOVES = {SCHEDULED: {INVITED, CANCELLED}, INVITED: {REMINDED, CANCELLED}, REMINDED: {CANCELLED}, CANCELLED: set()}


@dataclass(frozen=True)
class Slot:
    """A weekly window: day code and "HH:MM" times, Europe/London."""

    day: str
    start: str
    end: str

    def within(self, window: Slot) -> bool:
        # Zero-padded "HH:MM" strings compare in time order.
        return self.day == window.day and window.start <= self.start and self.end <= window.end

    def minutes(self) -> int:
        return _minutes(self.end) - _minutes(self.start)

    def overlaps(self, other: Slot) -> bool:
        # Touching ends (10:00-11:00 and 11:00-12:00) do not overlap: one meeting follows the other.
        return self.day == other.day and self.start < other.end and other.start < self.end


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def slots(rows: list[dict[str, str]] | None) -> list[Slot]:
    return [Slot(r["day"], r["start"], r["end"]) for r in rows or []]


@dataclass(eq=False)
class Volunteer:
    name: str
    email: str
    kind: str
    home_area: str
    roles: list[str]
    modes: list[str]
    availability: list[dict[str, str]]
    max_commitments: int
    consent_version: str
    consent_given_at: datetime
    id: str = field(default_factory=new_id)
    status: str = VolunteerStatus.ACTIVE
    phone: str | None = None
    preferred_contact: str = "email"
    travel_areas: list[str] = field(default_factory=list)
    experience: list[str] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    trainings: list[dict[str, Any]] = field(default_factory=list)
    access_needs: str | None = None
    exclusions: str | None = None
    excluded_teams: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # The address as compared (normalise_email); unique among live offers in the database.
    # None only for a second live offer under one address from before that rule (migration 0005).
    email_key: str | None = None
    paused_until: date | None = None  # while paused: the day they are active again (none: until they resume)
    erased_at: datetime | None = None  # their personal details were erased at their request
    source_event_id: str | None = None  # the outreach event whose link they signed up through
    # Consent taken in person by a coordinator (an assisted sign-up): who; when is consent_given_at.
    consent_assisted_by: str | None = None
    # When the email address was shown to be theirs, and by whom (EmailConfirmation, or the
    # coordinator's id who entered the offer). None on offers from before confirmation.
    email_confirmed_at: datetime | None = None
    email_confirmed_by: str | None = None

    def __post_init__(self) -> None:
        if self.email_key is None:
            self.email_key = normalise_email(self.email)

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    @property
    def first_name(self) -> str:
        return (self.name.split() or [self.name])[0]

    @property
    def has_consent(self) -> bool:
        return bool(self.consent_version) and self.consent_given_at is not None

    @property
    def training_codes(self) -> set[str]:
        """Every training on record, declared or verified."""
        return {t["code"] for t in self.trainings}

    @property
    def verified_training_codes(self) -> set[str]:
        """Trainings a coordinator verified (attendance at a session that confers them)."""
        return {t["code"] for t in self.trainings if t.get("verified_on")}

    def gate_trainings(self, declared_count: bool) -> set[str]:
        """The trainings that pass a role's training gate (matching rule 6): the verified
        ones, or every one on record when the programme lets declared trainings count."""
        return self.training_codes if declared_count else self.verified_training_codes

    def verify_training(self, code: str, by: str, on: date, now: datetime, session_id: str | None = None) -> bool:
        """Record ``code`` as verified by ``by`` on ``on``; False if it was verified already.

        A training the volunteer declared keeps its entry (and completion date) and gains the
        verification; one they had not declared is added, verified."""
        for t in self.trainings:
            if t["code"] == code and t.get("verified_on"):
                return False
        mark = {"verified_on": on.isoformat(), "verified_by": by, "session_id": session_id}
        entries = [dict(t) for t in self.trainings]  # a new list: the JSON column is written whole
        for t in entries:
            if t["code"] == code:
                t.update(mark, completed_on=t.get("completed_on") or on.isoformat())
                break
        else:
            entries.append({"code": code, "completed_on": on.isoformat(), **mark})
        self.trainings = entries
        self.updated_at = now
        return True

    def unverify_training(self, code: str, session_id: str, now: datetime) -> bool:
        """Take back the verification of ``code`` that ``session_id`` gave (attendance marked
        in error); the training stays on record as declared. False if there was none."""
        entries = [dict(t) for t in self.trainings]
        for t in entries:
            if t["code"] == code and t.get("verified_on") and t.get("session_id") == session_id:
                for k in ("verified_on", "verified_by", "session_id"):
                    t.pop(k, None)
                self.trainings, self.updated_at = entries, now
                return True
        return False

    @property
    def reachable_areas(self) -> set[str]:
        return {self.home_area, *self.travel_areas}

    def seen_from(self, matched_in: Collection[str]) -> set[str]:
        """The areas whose coordinators see this volunteer: where they live or travel to, and
        ``matched_in``, the areas of the requests they are suggested for or matched to."""
        return self.reachable_areas | set(matched_in)

    @property
    def unconfirmed(self) -> bool:
        return self.status == VolunteerStatus.UNCONFIRMED

    def confirm_email(self, by: str, now: datetime) -> None:
        """The address is theirs: an unconfirmed offer becomes active (matchable)."""
        if not self.unconfirmed:
            raise _refusal(self, "volunteer", "confirmed")
        _move(self, "volunteer", VolunteerStatus.MOVES, VolunteerStatus.ACTIVE, "confirmed")
        self.email_confirmed_at, self.email_confirmed_by, self.updated_at = now, by, now

    def pause(self, now: datetime, until: date | None = None) -> None:
        """Paused until a date (active again on it), or until they resume."""
        _move(self, "volunteer", VolunteerStatus.MOVES, VolunteerStatus.PAUSED, "paused")
        self.paused_until, self.updated_at = until, now

    def resume(self, now: datetime) -> None:
        if self.unconfirmed:
            # Only the owner of the address makes an anonymous offer live, through their link.
            raise IllegalMove("an unconfirmed offer becomes active when its email address is confirmed")
        _move(self, "volunteer", VolunteerStatus.MOVES, VolunteerStatus.ACTIVE, "made active again")
        self.paused_until, self.updated_at = None, now

    def withdraw(self, now: datetime) -> None:
        _move(self, "volunteer", VolunteerStatus.MOVES, VolunteerStatus.WITHDRAWN, "withdrawn")
        self.paused_until, self.updated_at = None, now

    def erase(self, now: datetime) -> None:
        """Anonymise a withdrawn volunteer: what identifies the person goes; the counts stay.

        Kept: kind, area, roles (what the programme's figures are made of). Gone: name,
        contact details, lived experience, interests, access needs, exclusions, availability.
        """
        if self.status != VolunteerStatus.WITHDRAWN or self.erased:
            raise IllegalMove("only a withdrawn volunteer is erased, and only once")
        self.name = ERASED_NAME
        self.email = f"erased-{self.id}@invalid"
        self.email_key = None  # the compared form of the address goes with it
        self.phone = None
        self.preferred_contact = "email"
        self.experience, self.interests, self.languages, self.trainings = [], [], [], []
        self.travel_areas, self.excluded_teams, self.availability = [], [], []
        self.access_needs = self.exclusions = None
        self.email_confirmed_at = self.email_confirmed_by = None
        self.erased_at = self.updated_at = now


@dataclass(eq=False)
class TeamRequest:
    team_name: str
    project_title: str
    area: str
    qi_stage: str
    roles: list[dict[str, Any]]  # [{"role": code, "count": n}]
    modes: list[str]
    contact_name: str
    contact_email: str
    id: str = field(default_factory=new_id)
    status: str = RequestStatus.OPEN
    aim: str | None = None
    topics: list[str] = field(default_factory=list)
    experience_sought: list[str] = field(default_factory=list)
    meeting_slots: list[dict[str, str]] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    required_trainings: list[str] = field(default_factory=list)
    start_date: date | None = None
    hours_per_month: int | None = None
    duration_weeks: int | None = None
    notes: str | None = None
    # Where the team meets, for the chats' calendar invitations (a place, not a person).
    venue: str | None = None
    video_link: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # The contact's address as compared, for finding a team's requests again (not unique:
    # one contact may send several requests).
    contact_email_key: str | None = None
    # Closed for longer than the retention period: the contact's details were erased.
    contact_erased_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.contact_email_key is None:
            self.contact_email_key = normalise_email(self.contact_email)

    def role_count(self, role: str) -> int:
        return sum(int(r["count"]) for r in self.roles if r["role"] == role)

    @property
    def role_codes(self) -> list[str]:
        return [r["role"] for r in self.roles]

    @property
    def places(self) -> int:
        return sum(int(r["count"]) for r in self.roles)

    def open_places(self, matches: Collection[Match]) -> dict[str, int]:
        """Per role, the places not yet taken by a commitment among ``matches`` (the request's)."""
        taken = Counter(m.role for m in matches if m.status in MatchStatus.COMMITTED)
        return {r["role"]: int(r["count"]) - taken[r["role"]] for r in self.roles}

    @property
    def contact(self) -> dict[str, str]:
        return {"name": self.contact_name, "email": self.contact_email}

    def fill(self, now: datetime) -> None:
        """Every role's count is approved."""
        _move(self, "request", RequestStatus.MOVES, RequestStatus.FILLED, "filled")
        self.updated_at = now

    def reopen(self, now: datetime) -> None:
        """A place was given back."""
        _move(self, "request", RequestStatus.MOVES, RequestStatus.OPEN, "reopened")
        self.updated_at = now

    def close(self, now: datetime) -> None:
        _move(self, "request", RequestStatus.MOVES, RequestStatus.CLOSED, "closed")
        self.updated_at = now

    def erase_contact(self, now: datetime) -> None:
        """Anonymise a closed request's contact: the person goes; the project, its area,
        roles and dates (the programme's figures) stay. Their notes go too: free text a
        team typed may name people."""
        if self.status != RequestStatus.CLOSED or self.contact_erased_at is not None:
            raise IllegalMove("only a closed request's contact is erased, and only once")
        self.contact_name = ERASED_CONTACT
        self.contact_email = f"erased-{self.id}@invalid"
        self.contact_email_key = None
        self.notes = None
        self.contact_erased_at = self.updated_at = now


@dataclass(eq=False)
class Match:
    team_request_id: str
    volunteer_id: str
    role: str
    score: float
    factors: dict[str, float]
    id: str = field(default_factory=new_id)
    status: str = MatchStatus.SUGGESTED
    origin: str = "engine"  # engine | coordinator
    proposed: bool = True  # part of the assignment, not an alternate
    rank: int = 0
    reject_reason: str | None = None
    close_reason: str | None = None
    decided_by: str | None = None
    intro_at: datetime | None = None  # the informal introductory chat
    # Set by a coordinator for this chat; otherwise the request's venue and link are used.
    venue: str | None = None
    video_link: str | None = None
    # The introductory chat's invitation revision (iCalendar SEQUENCE): raised on each change sent.
    invite_sequence: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def place(self) -> str | None:
        """Where the introductory chat is, as far as the match says: its venue, else its video link."""
        return self.venue or self.video_link

    def approve(self, by: str, now: datetime) -> None:
        _move(self, "match", MatchStatus.MOVES, MatchStatus.APPROVED, "approved")
        self.decided_by, self.updated_at = by, now

    def reject(self, by: str, reason: str, now: datetime) -> None:
        _move(self, "match", MatchStatus.MOVES, MatchStatus.REJECTED, "rejected")
        self.reject_reason, self.decided_by, self.updated_at = reason, by, now

    def introduce(self, now: datetime) -> None:
        """Both introductions went out."""
        _move(self, "match", MatchStatus.MOVES, MatchStatus.INTRODUCED, "introduced")
        self.updated_at = now

    def close(self, now: datetime, note: str | None = None) -> None:
        """The involvement ended: its place and the volunteer's capacity are given back.

        ``note`` is a coordinator's own words: kept on the match, which erasure clears,
        never in the event (events hold codes only)."""
        _move(self, "match", MatchStatus.MOVES, MatchStatus.CLOSED, "closed")
        self.close_reason = note
        self.updated_at = now

    def withdraw_suggestion(self) -> None:
        """Only a suggestion nobody acted on is taken back; its row then goes (it was only a
        draft), so there is no status to move to, only the refusal of anything decided."""
        if self.status != MatchStatus.SUGGESTED:
            raise _refusal(self, "match", "withdrawn as a suggestion")


@dataclass(eq=False)
class FollowUp:
    match_id: str
    sequence: int
    due_at: datetime  # when the chat takes place
    id: str = field(default_factory=new_id)
    status: str = FollowUpStatus.SCHEDULED
    invited_at: datetime | None = None
    reminded_at: datetime | None = None
    created_at: datetime | None = None
    # When both sides were sent their feedback forms, once the chat's time had passed.
    feedback_at: datetime | None = None

    def invite(self, now: datetime) -> None:
        _move(self, "follow-up chat", FollowUpStatus.MOVES, FollowUpStatus.INVITED, "invited to")
        self.invited_at = now

    def remind(self, now: datetime) -> None:
        _move(self, "follow-up chat", FollowUpStatus.MOVES, FollowUpStatus.REMINDED, "reminded of")
        self.reminded_at = now

    def cancel(self) -> None:
        _move(self, "follow-up chat", FollowUpStatus.MOVES, FollowUpStatus.CANCELLED, "cancelled")


class ReviewStatus:
    """A retention review: someone inactive for the retention period was asked whether to
    keep their details (``matcher.services.retention``)."""

    ASKED = "asked"  # the question is owed or sent; erased at due_at unless they answer
    KEPT = "kept"  # they answered, or were active again: the period starts afresh
    ERASING = "erasing"  # a dispatcher run took it: the erasure is under way
    ERASED = "erased"
    OPEN = (ASKED, ERASING)  # at most one per volunteer (a unique index holds it)
    ALL = (ASKED, KEPT, ERASING, ERASED)
    # ERASING -> ERASING: a run that died mid-erasure is taken over after a while.
    MOVES = {ASKED: {KEPT, ERASING}, ERASING: {ERASING, ERASED}, KEPT: set(), ERASED: set()}


class KeptBecause:
    ANSWERED = "answered"  # "keep my details", through the emailed link
    ACTIVE = "active"  # signed in, changed their offer or took part again before the date


@dataclass(eq=False)
class RetentionReview:
    """A dispatcher row: a volunteer asked whether to keep their details, erased at
    ``due_at`` unless they answer or are active again before then."""

    volunteer_id: str
    asked_at: datetime
    due_at: datetime
    id: str = field(default_factory=new_id)
    status: str = ReviewStatus.ASKED
    kept_because: str | None = None
    answered_at: datetime | None = None  # kept: when (the period counts again from here)
    erasing_since: datetime | None = None
    erased_at: datetime | None = None

    def keep(self, now: datetime, because: str) -> None:
        _move(self, "review", ReviewStatus.MOVES, ReviewStatus.KEPT, "kept")
        self.kept_because, self.answered_at = because, now

    def begin_erasing(self, now: datetime) -> None:
        _move(self, "review", ReviewStatus.MOVES, ReviewStatus.ERASING, "erased")
        self.erasing_since = now

    def finish_erasing(self, now: datetime) -> None:
        _move(self, "review", ReviewStatus.MOVES, ReviewStatus.ERASED, "finished")
        self.erased_at = now


@dataclass(eq=False)
class Coordinator:
    email: str
    password_hash: str
    areas: list[str]
    id: str = field(default_factory=new_id)
    name: str | None = None
    # Admins also edit the programme's vocabularies, which every area shares, and manage accounts.
    admin: bool = False
    created_at: datetime | None = None
    # Their daily digest's time, "HH:MM" on the London clock; None: they turned it off.
    digest_time: str | None = "08:00"
    # The authenticator app's shared secret (base32), and the last 30-second step whose
    # code was accepted: a code is good once, never replayed within its window.
    totp_secret: str | None = None
    totp_last_step: int | None = None
    # A deactivated account can no longer sign in; its sessions and tokens stop working.
    active: bool = True

    @property
    def invited(self) -> bool:
        """Invited by email and not yet arrived: no password chosen, so no sign-in."""
        return not self.password_hash

    def covers(self, area: str) -> bool:
        return area in self.areas

    def can_see(self, volunteer: Volunteer, matched_in: Collection[str]) -> bool:
        """A volunteer who lives in or travels to one of the coordinator's areas, or who is
        suggested for or matched to a request there: whoever is put before them to decide on.
        ``matched_in``: the areas of the requests the volunteer has a match on."""
        return bool(volunteer.seen_from(matched_in) & set(self.areas))


class EventKind(StrEnum):
    """Every kind of event: a closed set.

    The publisher's task map (``workers.publisher.TASKS_FOR_EVENT``) and the
    timeline's words (``web.pages.EVENT_WORDS``) are checked against it by a
    test, so a kind with no task decision or no words fails there instead of
    doing nothing. An ``Event`` refuses a kind outside it.
    """

    REQUEST_SUBMITTED = "request.submitted"
    REQUEST_FILLED = "request.filled"
    REQUEST_CLOSED = "request.closed"
    REQUEST_REOPENED = "request.reopened"
    VOLUNTEER_REGISTERED = "volunteer.registered"
    VOLUNTEER_UPDATED = "volunteer.updated"
    VOLUNTEER_PAUSED = "volunteer.paused"
    VOLUNTEER_SIGNED_IN = "volunteer.signed_in"
    VOLUNTEER_EMAIL_CONFIRMED = "volunteer.email_confirmed"
    VOLUNTEER_ERASED = "volunteer.erased"
    VOLUNTEER_TEAM_EXCLUDED = "volunteer.team_excluded"
    VOLUNTEER_CALL_REQUESTED = "volunteer.call_requested"
    RETENTION_ASKED = "retention.asked"
    RETENTION_KEPT = "retention.kept"
    REQUEST_CONTACT_ERASED = "request.contact_erased"
    MATCH_SUGGESTED = "match.suggested"
    MATCH_APPROVED = "match.approved"
    MATCH_REJECTED = "match.rejected"
    MATCH_CREATED = "match.created"
    MATCH_INTRODUCED = "match.introduced"
    MATCH_CLOSED = "match.closed"
    MATCH_SUGGESTION_WITHDRAWN = "match.suggestion_withdrawn"
    MATCH_MEETING_CHANGED = "match.meeting_changed"
    EMAIL_OWED = "email.owed"
    EMAIL_SENT = "email.sent"
    EMAIL_FAILED = "email.failed"
    EMAIL_UNCERTAIN = "email.uncertain"
    # Texts to a phone-preferring volunteer's mobile, through the same deliveries as emails.
    TEXT_OWED = "text.owed"
    TEXT_SENT = "text.sent"
    TEXT_FAILED = "text.failed"
    TEXT_UNCERTAIN = "text.uncertain"
    # Notify's receipt said the text will never arrive (a number not in use, a phone off for days).
    TEXT_UNDELIVERED = "text.undelivered"
    FOLLOW_UP_SCHEDULED = "follow_up.scheduled"
    FOLLOW_UP_INVITATION_DUE = "follow_up.invitation_due"
    FOLLOW_UP_REMINDER_DUE = "follow_up.reminder_due"
    FOLLOW_UP_CANCELLED = "follow_up.cancelled"
    VOCABULARY_TERM_SET = "vocabulary.term_set"
    FEEDBACK_ASKED = "feedback.asked"
    FEEDBACK_REMINDER_DUE = "feedback.reminder_due"
    FEEDBACK_ANSWERED = "feedback.answered"
    FEEDBACK_HANDLED = "feedback.handled"
    TEAM_CHAT_BOOKED = "team_chat.booked"
    TEAM_CHAT_CANCELLED = "team_chat.cancelled"
    # The programme's sessions (matcher.programme_sessions); data carries session and booking ids.
    SESSION_SCHEDULED = "session.scheduled"
    SESSION_CHANGED = "session.changed"
    SESSION_CANCELLED = "session.cancelled"
    SESSION_BOOKED = "session.booked"
    SESSION_WAITLISTED = "session.waitlisted"
    SESSION_MOVED_UP = "session.moved_up"
    SESSION_BOOKING_CANCELLED = "session.booking_cancelled"
    SESSION_ATTENDANCE_MARKED = "session.attendance_marked"
    # Attendance verified a training: the volunteer may now pass a role's training gate.
    VOLUNTEER_TRAINING_VERIFIED = "volunteer.training_verified"
    # The call list (matcher.calls): data carries the call's id, reason and subject kind; the
    # coordinator's note stays on the call's row, never here.
    CALL_OWED = "call.owed"
    CALL_MADE = "call.made"


class Rescore(StrEnum):
    """What an event asks to be scored again: a request's suggestions, or every open
    request a volunteer's changed offer or capacity could touch."""

    REQUEST = "request"
    VOLUNTEER = "volunteer"


# The events that set off a rescore, and of what. Each leaves a durable "rescore due"
# row in its own transaction, so workers can take many at once (one engine run for a
# burst) and none is lost with a broker message.
RESCORES: dict[EventKind, Rescore] = {
    EventKind.REQUEST_SUBMITTED: Rescore.REQUEST,
    EventKind.MATCH_REJECTED: Rescore.REQUEST,
    EventKind.REQUEST_REOPENED: Rescore.REQUEST,
    EventKind.VOLUNTEER_REGISTERED: Rescore.VOLUNTEER,
    EventKind.VOLUNTEER_UPDATED: Rescore.VOLUNTEER,
    # An unconfirmed offer became active: it may now be suggested.
    EventKind.VOLUNTEER_EMAIL_CONFIRMED: Rescore.VOLUNTEER,
    # A coordinator excluded a suggestion's team for the volunteer: the rescore drops it.
    EventKind.VOLUNTEER_TEAM_EXCLUDED: Rescore.VOLUNTEER,
    # The volunteer now has less capacity: their other suggestions may change.
    EventKind.MATCH_APPROVED: Rescore.VOLUNTEER,
    # A verified training (or one taken back) opens or closes roles that require it.
    EventKind.VOLUNTEER_TRAINING_VERIFIED: Rescore.VOLUNTEER,
}


@dataclass(frozen=True)
class RescoreDue:
    """One event's rescore not yet done: a row of the durable work queue."""

    id: int
    subject: Rescore
    subject_id: str


# What event data may hold: identifiers, codes, delivery keys, ISO dates and times, numbers.
# No spaces, no "@": a coordinator's words or an address cannot pass for one.
CODE_TEXT = re.compile(r"[A-Za-z0-9_.:+\-]{0,200}")


def _not_codes(value: Any, path: str) -> list[str]:
    """Where in ``value`` (event data) something other than codes is: their paths."""
    if value is None or isinstance(value, bool | int | float):
        return []
    if isinstance(value, str):
        return [] if CODE_TEXT.fullmatch(value) else [path]
    if isinstance(value, list | tuple):
        return [p for i, item in enumerate(value) for p in _not_codes(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        found = [f"{path}.{k}" for k in value if not (isinstance(k, str) and CODE_TEXT.fullmatch(k))]
        return found + [p for k, item in value.items() for p in _not_codes(item, f"{path}.{k}")]
    return [path]


@dataclass(eq=False)
class Event:
    """One thing that happened: a timeline entry and, until published, an outbox row.

    ``data`` carries identifiers and codes only: events are what the relay
    turns into broker messages, and a broker must never hold personal data; and
    erasure clears the rows people's words live in, never the event log. Free text
    in ``data`` is refused when the event is made (``CODE_TEXT``).
    """

    kind: str
    occurred_at: datetime
    id: int | None = None
    team_request_id: str | None = None
    volunteer_id: str | None = None
    match_id: str | None = None
    follow_up_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    published_at: datetime | None = None
    # The web request whose work made it (or whose task did): an id for following it in the
    # logs, also when beat's relay publishes it later. Set by the store; never personal.
    request_id: str | None = None

    def __post_init__(self) -> None:
        # A kind outside the closed set fails here, not silently downstream. Kept as the
        # plain string: that is what the database holds and what drivers adapt.
        self.kind = EventKind(self.kind).value
        # Free text (a reason, a name, an email) would outlive erasure here: refused at once.
        not_codes = _not_codes(self.data, "data")
        if not_codes:
            raise ValueError(f"event data holds codes only, not free text: {', '.join(not_codes)}")

    def rescore(self) -> tuple[Rescore, str] | None:
        """What this event asks to be scored again, if anything."""
        subject = RESCORES.get(EventKind(self.kind))
        if subject is None:
            return None
        subject_id = self.team_request_id if subject == Rescore.REQUEST else self.volunteer_id
        return (subject, subject_id) if subject_id else None

    @classmethod
    def of_match(cls, kind: EventKind, match: Match, at: datetime, **data: Any) -> Event:
        """An event on a match's timeline, also found on its request's and volunteer's."""
        return cls(
            kind,
            at,
            match_id=match.id,
            team_request_id=match.team_request_id,
            volunteer_id=match.volunteer_id,
            data=data,
        )


@dataclass(eq=False)
class Delivery:
    """A claim on one email that must go out exactly once, under a unique key."""

    key: str
    claimed_at: datetime
    id: int | None = None
    status: str = "claimed"  # claimed | sent
    attempts: int = 1
    sent_at: datetime | None = None
    message_id: str | None = None
    receipt: str | None = None  # a text's delivery receipt from Notify


@dataclass(eq=False)
class Term:
    """One entry of a controlled vocabulary: data a trust edits, not code."""

    vocabulary: str
    code: str
    label: str
    position: int = 0
    active: bool = True
    id: int | None = None


class TokenPurpose:
    VOLUNTEER_LINK = "volunteer_link"  # the emailed magic link: single use, expiring
    REQUEST_STATUS = "request_status"  # a team's private status link: read-only, long-lived
    VOLUNTEER_SESSION = "volunteer_session"  # a signed-in browser, after a link was used
    COORDINATOR_SESSION = "coordinator_session"
    COORDINATOR_API = "coordinator_api"  # a bearer token from POST /api/v1/auth/token: listed, revocable
    COORDINATOR_INVITE = "coordinator_invite"  # the emailed link to set a first password: single use
    PASSWORD_RESET = "password_reset"  # the emailed link to choose a new password: single use, short
    RECOVERY_CODE = "recovery_code"  # used instead of a one-time code when the phone is lost: single use
    # One side's feedback form after a follow-up chat: looked at and answered, never used up
    # (a second answer is refused by the form, politely, not by a dead link).
    FEEDBACK_FORM = "feedback_form"
    # The retention question's "keep my details" link: single use, until the erasure date.
    KEEP_DETAILS = "keep_details"
    SESSIONS = (VOLUNTEER_SESSION, COORDINATOR_SESSION)
    # What "sign out everywhere" ends: every way a coordinator is signed in.
    COORDINATOR_SIGN_INS = (COORDINATOR_SESSION, COORDINATOR_API)
    COORDINATOR_LINKS = (COORDINATOR_INVITE, PASSWORD_RESET)
    ALL = (
        VOLUNTEER_LINK,
        REQUEST_STATUS,
        VOLUNTEER_SESSION,
        COORDINATOR_SESSION,
        COORDINATOR_API,
        COORDINATOR_INVITE,
        PASSWORD_RESET,
        RECOVERY_CODE,
        FEEDBACK_FORM,
        KEEP_DETAILS,
    )


@dataclass(eq=False)
class AccessToken:
    """A random secret given to one person, stored only as its SHA-256 hash.

    The same shape serves emailed links and signed-in browser sessions: what a
    token lets its holder do follows from its purpose and subject.
    """

    id: str  # hex SHA-256 of the secret; the secret itself is never stored
    purpose: str
    subject_id: str  # a volunteer, team request or coordinator id
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None  # links: when used up; sessions: when ended
    last_seen_at: datetime | None = None
    label: str | None = None  # an API token's name, chosen by whoever asked for it


class FeedbackStatus:
    ASKED = "asked"  # the form went (or is going) out; one reminder is still due
    REMINDED = "reminded"
    ANSWERED = "answered"
    ALL = (ASKED, REMINDED, ANSWERED)
    MOVES = {ASKED: {REMINDED, ANSWERED}, REMINDED: {ANSWERED}, ANSWERED: set()}


# A rating at or below this is a poor answer: the area's coordinators hear of it at once.
POOR_RATING = 2


@dataclass(eq=False)
class FeedbackForm:
    """One side's short form after one follow-up chat: a due row for its one reminder."""

    follow_up_id: str
    match_id: str
    party: str  # "team" | "volunteer"
    asked_at: datetime
    remind_at: datetime  # when the one reminder is due, if still unanswered
    id: str = field(default_factory=new_id)
    status: str = FeedbackStatus.ASKED
    reminded_at: datetime | None = None
    answered_at: datetime | None = None

    def remind(self, now: datetime) -> None:
        _move(self, "feedback form", FeedbackStatus.MOVES, FeedbackStatus.REMINDED, "reminded of")
        self.reminded_at = now

    def answer(self, now: datetime) -> None:
        _move(self, "feedback form", FeedbackStatus.MOVES, FeedbackStatus.ANSWERED, "answered")
        self.answered_at = now


@dataclass(eq=False)
class FeedbackAnswer:
    """What one side answered; one per form (a unique key in the store).

    ``note`` is their own words: kept here, never in an event, and cleared by erasure.
    """

    form_id: str
    match_id: str
    party: str
    rating: int  # how it is going, 1 (badly) to 5 (very well)
    wants_call: bool
    wants_stop: bool
    answered_at: datetime
    note: str | None = None
    id: str = field(default_factory=new_id)
    handled_at: datetime | None = None  # a coordinator dealt with a poor answer
    handled_by: str | None = None

    @property
    def poor(self) -> bool:
        return self.rating <= POOR_RATING or self.wants_call or self.wants_stop

    def handle(self, by: str, now: datetime) -> None:
        if self.handled_at is None:
            self.handled_at, self.handled_by = now, by


class DigestStatus:
    DUE = "due"
    OWED = "owed"  # items found: the email is owed (the delivery claim sends it once)
    EMPTY = "empty"  # nothing to tell: not sent
    OFF = "off"  # the coordinator turned the digest off before it was due
    ALL = (DUE, OWED, EMPTY, OFF)


@dataclass(eq=False)
class Digest:
    """A coordinator's digest for one London day: a due row the dispatcher claims once."""

    coordinator_id: str
    day: date
    due_at: datetime
    since: datetime  # what happened from here to ``done_at`` is in it
    id: str = field(default_factory=new_id)
    status: str = DigestStatus.DUE
    done_at: datetime | None = None  # when the dispatcher made it (owed, or found empty)


class AuditAction(StrEnum):
    """What a coordinator did, as the audit log records it: a closed set of codes."""

    SIGNED_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    MATCH_APPROVED = "match.approve"
    MATCH_REJECTED = "match.reject"
    MATCH_MADE = "match.own"  # a coordinator's own match, approved at once
    MATCH_CLOSED = "match.close"
    MATCH_MEETING_SET = "match.meeting"
    TEAM_EXCLUDED = "volunteer.exclude_team"
    VOLUNTEER_EDITED = "volunteer.edit"
    VOLUNTEER_EXPORTED = "volunteer.export"
    VOLUNTEER_ERASED = "volunteer.erase"
    REQUEST_CLOSED = "request.close"
    TERM_SET = "vocabulary.set_term"
    PROGRAMME_EXPORTED = "programme.export"
    EMAIL_RESENT = "email.resend"
    OUTREACH_RECORDED = "outreach.record"
    OFFER_TAKEN_IN_PERSON = "volunteer.assisted_sign_up"
    MEETING_SUGGESTION_HANDLED = "outreach.suggestion_handled"
    TEAM_CHAT_PUBLISHED = "team_chat.publish"
    TEAM_CHAT_CANCELLED = "team_chat.cancel"
    COORDINATOR_INVITED = "coordinator.invite"
    COORDINATOR_DEACTIVATED = "coordinator.deactivate"
    PASSWORD_CHANGED = "coordinator.change_password"
    TOKEN_REVOKED = "coordinator.revoke_token"
    SIGNED_OUT_EVERYWHERE = "coordinator.sign_out_everywhere"
    FEEDBACK_HANDLED = "feedback.handle"  # a poor answer after a follow-up chat, dealt with
    DIGEST_SET = "coordinator.digest"  # their daily digest's time changed, or turned off
    CONTENT_SAVED = "content.save"
    CONTENT_REVERTED = "content.revert"
    TERM_MOVED = "vocabulary.move_term"
    PAYMENT_ACCOUNT_SET = "payment.set_account"
    RATE_SET = "payment.set_rate"
    ACTIVITY_RECORDED = "payment.record_activity"
    EXPENSE_RECORDED = "payment.record_expense"
    LINE_APPROVED = "payment.approve"
    LINE_HELD = "payment.hold"
    FINANCE_EXPORTED = "payment.export"
    FINANCE_DOWNLOADED = "payment.download_export"
    CALL_RECORDED = "call.record"  # a call on the call list made, with its note (subject: the volunteer)


class AuditSubject(StrEnum):
    """What an audit entry is about: its kind, with the thing's id beside it."""

    VOLUNTEER = "volunteer"
    MATCH = "match"
    REQUEST = "request"
    COORDINATOR = "coordinator"
    TERM = "term"  # subject id "<vocabulary>:<code>"
    PROGRAMME = "programme"  # subject id: the area exported, or "all"
    OUTREACH_EVENT = "outreach_event"
    MEETING_SUGGESTION = "meeting_suggestion"
    TEAM_CHAT = "team_chat"
    CONTENT = "content"  # subject id: the text's key ("faq", "email/introduction_team.txt")
    PAYMENT_LINE = "payment_line"
    RATE = "rate"
    FINANCE_EXPORT = "finance_export"


@dataclass(eq=False)
class AuditEntry:
    """One coordinator action on record: who, what, about which thing, when.

    Ids and codes only. ``details`` holds codes (field names changed, a reason's code,
    the format of an export), never a person's words or details, so an erasure leaves
    nothing of the person here: their id stays, and it names no one once they are
    erased. The one exception is ``attempted_email`` on a failed sign-in (the address
    typed, so an admin can see who is being tried); a password is never recorded.
    """

    action: str
    at: datetime
    subject_kind: str
    subject_id: str | None = None
    coordinator_id: str | None = None  # who acted; none for a failed sign-in
    details: dict[str, Any] = field(default_factory=dict)
    attempted_email: str | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        # Outside the closed sets fails here, as an Event's kind does.
        self.action = AuditAction(self.action).value
        self.subject_kind = AuditSubject(self.subject_kind).value
