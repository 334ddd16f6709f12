"""The coordinators' daily digest: what needs them, without watching the dashboard.

Each coordinator with a digest time gets a due row per London day, made ahead by the
periodic dispatcher and claimed by it once its time comes (a unique row per coordinator
and day, locked while claimed). Its items are what happened since the previous digest
was made up to the moment this one is, in the coordinator's areas:

- new suggestions waiting for a decision, and suggestions waiting longer than
  ``digest_pending_days`` (per request);
- poor feedback (a rating of 2 or less, a wish to stop) and call requests (from a
  feedback form, or a volunteer who asked to be phoned about an introduction);
- emails given up (``email.failed``);
- the call list: every call still owed in their areas, oldest first (``matcher.calls``),
  however long ago it was owed: it stays in each digest until someone rings.

Each item links to its page. An empty digest is not sent. The email is owed under
``digest:<coordinator>:<day>`` and goes through the delivery claim, so two dispatchers
send one. Urgent things (poor feedback, a wish to stop) do not wait for it: they were
emailed at once (``matcher.services.feedback``).
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from matcher.calls import CallReason, CallStatus
from matcher.config import MatchingConfig
from matcher.domain import (
    POOR_RATING,
    AuditAction,
    AuditSubject,
    Coordinator,
    Digest,
    DigestStatus,
    Event,
    EventKind,
    MatchStatus,
    RequestStatus,
    TeamRequest,
)
from matcher.errors import Concurrent, Invalid, NotFound
from matcher.ports import Clock, Email, Letters, Mailer, UnitOfWork
from matcher.scheduling import LONDON
from matcher.services import audit, deliveries, queries

LETTER = "digest"
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def delivery_key(coordinator_id: str, day: date) -> str:
    return deliveries.key(LETTER, coordinator_id, day.isoformat())


def due_time(day: date, hhmm: str) -> datetime:
    """The digest's moment on that London day (a clock change moves it with the wall clock)."""
    return datetime.combine(day, time(int(hhmm[:2]), int(hhmm[3:])), LONDON)


# --- Each coordinator's choice ----------------------------------------------------------------


def set_time(uow: UnitOfWork, coordinator_id: str, digest_time: str | None, clock: Clock) -> Coordinator:
    """A new time for one's digest ("HH:MM", London), or None to turn it off.

    Today's digest, if it has not gone yet, moves to the new time (or is called off).
    """
    if digest_time is not None and not HHMM.match(digest_time):
        raise Invalid({"digest_time": ["Use 24-hour HH:MM, e.g. 08:00, or leave it empty to turn the digest off."]})
    now = clock.now()
    with uow:
        coordinator = uow.coordinators.get(coordinator_id, for_update=True)
        if coordinator is None:
            raise NotFound("coordinator not found")
        coordinator.digest_time = digest_time
        today = now.astimezone(LONDON).date()
        unsent = uow.digests.where(
            coordinator_id=coordinator.id, status=[DigestStatus.DUE, DigestStatus.OFF], for_update=True
        )
        for row in unsent:
            if digest_time is None:
                if row.status == DigestStatus.DUE:
                    row.status, row.done_at = DigestStatus.OFF, now
            elif row.status == DigestStatus.DUE or row.day == today:
                # On again the same day it was turned off: today's comes after all.
                row.status, row.done_at, row.due_at = DigestStatus.DUE, None, due_time(row.day, digest_time)
        audit.record(
            uow,
            coordinator,
            AuditAction.DIGEST_SET,
            AuditSubject.COORDINATOR,
            coordinator.id,
            clock,
            on=digest_time is not None,
        )
        if digest_time is not None and not uow.digests.count(coordinator_id=coordinator.id, day=today):
            # Chosen today (a new coordinator's first choice, say): today's comes at that time,
            # or at once if it has passed.
            _new_row(uow, coordinator, today, digest_time)
        uow.commit()
        return coordinator


# --- What a digest holds ----------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    kind: str  # new_suggestions | waiting | poor_feedback | call_request | owed_call | failed_email
    path: str  # the page it links to, from the site's root
    title: str  # what it is about: a project title, in the coordinator's own workspace
    detail: str = ""  # codes and counts, put in words by the letter


@dataclass
class Contents:
    coordinator: Coordinator
    since: datetime
    until: datetime
    items: list[Item] = field(default_factory=list)

    def of(self, kind: str) -> list[Item]:
        return [i for i in self.items if i.kind == kind]

    @property
    def empty(self) -> bool:
        return not self.items


KINDS = ("poor_feedback", "call_request", "owed_call", "waiting", "new_suggestions", "failed_email")


def contents(
    uow: UnitOfWork, coordinator: Coordinator, since: datetime, until: datetime, config: MatchingConfig
) -> Contents:
    """Inside a unit of work: the items for [since, until) in the coordinator's areas."""
    out = Contents(coordinator, since, until)
    requests = {r.id: r for r in uow.requests.where(area=list(coordinator.areas))}

    def within(moment: datetime | None) -> bool:
        return moment is not None and since <= moment < until

    # Suggestions waiting for a decision, per open request: new ones, and long waits.
    open_ids = [r.id for r in requests.values() if r.status == RequestStatus.OPEN]
    waiting = uow.matches.where(team_request_id=open_ids, status=MatchStatus.SUGGESTED, proposed=True)
    new = Counter(m.team_request_id for m in waiting if within(m.created_at))
    old_before = until - timedelta(days=config.digest_pending_days)
    old = Counter(m.team_request_id for m in waiting if m.created_at is not None and m.created_at < old_before)
    for kind, per_request in (("new_suggestions", new), ("waiting", old)):
        for request_id, n in sorted(per_request.items(), key=lambda kv: requests[kv[0]].project_title):
            title = requests[request_id].project_title
            out.items.append(Item(kind, f"/coordinator/requests/{request_id}", title, str(n)))

    # Feedback since the last digest: poor answers and calls asked for (already alerted at once).
    matches = {m.id: m for m in uow.matches.where(team_request_id=list(requests))}
    for kept in uow.feedback_answers.where(match_id=list(matches), order_by="answered_at"):
        if not within(kept.answered_at):
            continue
        match = matches[kept.match_id]
        title = requests[match.team_request_id].project_title
        path = f"/coordinator/matches/{match.id}"
        if kept.rating <= POOR_RATING or kept.wants_stop:
            flags = [f"rating {kept.rating}"] + (["wants to stop"] if kept.wants_stop else [])
            out.items.append(Item("poor_feedback", path, title, f"{kept.party}: " + ", ".join(flags)))
        if kept.wants_call and kept.party == "team":
            # A volunteer's is on the call list (below); a team's contact is not on it.
            out.items.append(Item("call_request", path, title, f"{kept.party}, from the feedback form"))
    # Introductions before the call list (migration 0023) asked for a call by an event only.
    asked = uow.events.where(kind=EventKind.VOLUNTEER_CALL_REQUESTED, team_request_id=list(requests), order_by="id")
    for event in asked:
        if within(event.occurred_at) and event.match_id:
            title = requests[event.team_request_id or ""].project_title
            path = f"/coordinator/matches/{event.match_id}"
            out.items.append(Item("call_request", path, title, "volunteer, about the introduction"))

    # The call list: every call still owed in their areas, oldest first, however old (it is
    # owed until someone rings). First names only: the list itself has the numbers.
    for line in queries.calls_in_view(uow, coordinator, list(coordinator.areas), CallStatus.OWED):
        about = line.request.project_title if line.request else "their offer"
        detail = f"{CallReason.WORDS[line.call.reason].lower()}, owed since {_day(line.call.owed_at)}"
        out.items.append(Item("owed_call", "/coordinator/calls", f"{line.volunteer.first_name}: {about}", detail))

    # Emails given up: the coordinator reaches the person another way.
    for event in uow.events.where(kind=EventKind.EMAIL_FAILED, order_by="id"):
        if not within(event.occurred_at):
            continue
        item = _failed(event, requests)
        if item is not None:
            out.items.append(item)
    return out


def _day(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%-d %b")


def _failed(event: Event, requests: dict[str, TeamRequest]) -> Item | None:
    """An email given up, if it is about a request in the coordinator's areas."""
    request = requests.get(event.team_request_id or "")
    if request is None:
        return None
    letter = str(event.data.get("letter", "email")).replace("_", " ")
    detail = f"{letter} to {event.data.get('to', 'someone')}"
    path = f"/coordinator/matches/{event.match_id}" if event.match_id else f"/coordinator/requests/{request.id}"
    return Item("failed_email", path, request.project_title, detail)


# --- The dispatcher (beat, every minute) ------------------------------------------------------


def plan_today(uow: UnitOfWork, clock: Clock) -> int:
    """Today's due row for each coordinator with a digest time, if not made yet."""
    now = clock.now()
    today = now.astimezone(LONDON).date()
    made = 0
    with uow:
        for coordinator in uow.coordinators.where(order_by="email"):
            if coordinator.digest_time is None or uow.digests.count(coordinator_id=coordinator.id, day=today):
                continue
            if not coordinator.active or coordinator.invited:
                continue  # deactivated, or invited and not yet arrived: nothing to send them
            due = due_time(today, coordinator.digest_time)
            if coordinator.created_at is not None and due <= coordinator.created_at:
                continue  # joined after today's time: their first digest is tomorrow's
            _new_row(uow, coordinator, today, coordinator.digest_time)
            made += 1
        uow.commit()
    return made


def _new_row(uow: UnitOfWork, coordinator: Coordinator, day: date, hhmm: str) -> Digest:
    """Inside a unit of work: the coordinator's digest row for ``day``."""
    due = due_time(day, hhmm)
    last = uow.digests.where(coordinator_id=coordinator.id, order_by="day")
    # What happened since the previous digest was made, but never more than a week of it.
    previous = (last[-1].done_at or last[-1].due_at) if last else due - timedelta(days=1)
    row = Digest(coordinator_id=coordinator.id, day=day, due_at=due, since=max(previous, due - timedelta(days=7)))
    uow.digests.add(row)
    return row


def dispatch_due(uow: UnitOfWork, clock: Clock, config: MatchingConfig) -> dict[str, int]:
    """Make today's rows, then claim each digest whose time has come: owed, or empty (not sent)."""
    counts = {"planned": 0, "owed": 0, "empty": 0}
    # Another dispatcher making them at the same moment (the unique day row): the same rows.
    with contextlib.suppress(Concurrent):
        counts["planned"] = plan_today(uow, clock)
    now = clock.now()
    with uow:
        # Locked: an overlapping run waits, then no longer finds them due.
        for row in uow.digests.where(status=DigestStatus.DUE, order_by="due_at", for_update=True):
            if row.due_at > now:
                continue
            coordinator = uow.coordinators.get(row.coordinator_id)
            row.done_at = now
            if coordinator is None or coordinator.digest_time is None:
                row.status = DigestStatus.OFF
                continue
            # Up to now, not to its time: a digest made late (beat was down) misses nothing.
            if contents(uow, coordinator, row.since, now, config).empty:
                row.status = DigestStatus.EMPTY  # nothing needs them: no email
                counts["empty"] += 1
                continue
            row.status = DigestStatus.OWED
            deliveries.owe(uow, delivery_key(coordinator.id, row.day), now)
            counts["owed"] += 1
        uow.commit()
    return counts


def send(
    uow: UnitOfWork,
    mailer: Mailer,
    letters: Letters,
    delivery_key_: str,
    clock: Clock,
    config: MatchingConfig,
    lease_seconds: int,
) -> int:
    """Write and send one owed digest (its items as of its time); 1 if it went now."""
    _, (coordinator_id, day) = deliveries.letter_of(delivery_key_)

    def compose() -> Email | None:
        with uow:
            coordinator = uow.coordinators.get(coordinator_id)
            rows = uow.digests.where(coordinator_id=coordinator_id, day=date.fromisoformat(day))
            if coordinator is None or coordinator.digest_time is None or not rows or not coordinator.active:
                return None  # gone, deactivated, or turned off since it was owed
            found = contents(uow, coordinator, rows[0].since, rows[0].done_at or rows[0].due_at, config)
        if found.empty:
            return None
        return letters.digest(coordinator, found, delivery_key_)

    def sent(at: datetime) -> Event:
        return Event(EventKind.EMAIL_SENT, at, data={"letter": LETTER, "to": "coordinator", "key": delivery_key_})

    return int(deliveries.deliver(uow, mailer, delivery_key_, compose, clock, lease_seconds, sent))
