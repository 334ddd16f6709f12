"""Retention: details are not kept for ever once people stop taking part.

A periodic dispatcher (beat, hourly) does three things, each idempotent:

1. asks: each volunteer inactive for the retention period (``RetentionReads`` says
   what counts as activity) gets a review row, due ``grace_days`` later, and an owed
   email asking whether to keep their details, with a single-use "keep" link;
2. erases: a review past its due time whose volunteer neither answered nor did anything
   since being asked is erased by the volunteers' own erasure (``volunteer_self.erase``:
   the counts stay); one who was active again is kept without answering;
3. anonymises the contact of each request closed for longer than the period (the team
   is not asked: a closed request needs no contact, and its figures stay).

Nothing waits in the broker: the due times are rows, found on each run, and a row is
moved on by a conditional state change under its lock, so two runs at once ask once
and erase once.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from matcher.config import RetentionPolicy
from matcher.domain import (
    Event,
    EventKind,
    KeptBecause,
    RetentionReview,
    ReviewStatus,
    TokenPurpose,
    Volunteer,
    normalise_email,
)
from matcher.errors import Concurrent
from matcher.ports import Clock, Email, Letters, Mailer, Texter, UnitOfWork
from matcher.services import deliveries, links, team_chats, volunteer_self
from matcher.team_chats import TeamChatStatus

LETTER = "retention"
ERASED_BY_RETENTION = "retention"  # volunteer.erased's reason code when the dispatcher erased them
# A run that took a review for erasure and died is taken over after this long.
ERASING_LEASE = timedelta(minutes=15)
# The question has been delivered one way or the other: sent, refused for good, given up, or
# handed over with no answer. Until then nobody is erased (a mail outage does not cost a record).
# ("dropped": no longer wanted when its turn came, the person erased meanwhile.)
DELIVERY_SETTLED = ("sent", "failed", "uncertain", "dropped")


def delivery_key(review_id: str) -> str:
    return deliveries.key(LETTER, review_id)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day if shorter)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def dispatch_due(
    uow: UnitOfWork, clock: Clock, policy: RetentionPolicy, mailer: Mailer | None = None, texter: Texter | None = None
) -> dict[str, int]:
    """One dispatcher run: questions owed, erasures due, closed requests' contacts."""
    counts = {"asked": 0, "kept": 0, "erased": 0, "contacts_erased": 0, "chat_contacts_erased": 0}
    if not policy.enabled:
        return counts
    cutoff = months_before(clock.now(), policy.months)
    counts["asked"] = ask_inactive(uow, clock, policy, cutoff)
    counts["kept"], counts["erased"] = erase_unanswered(uow, clock, policy, mailer, texter)
    counts["contacts_erased"] = erase_closed_contacts(uow, clock, policy, cutoff, mailer)
    counts["chat_contacts_erased"] = erase_past_chat_contacts(uow, cutoff, policy.batch)
    return counts


def erase_past_chat_contacts(uow: UnitOfWork, cutoff: datetime, batch: int) -> int:
    """Informal chats held before ``cutoff`` keep when and where, not who asked or about what."""
    with uow:
        booked = uow.team_chats.where(status=[TeamChatStatus.BOOKED, TeamChatStatus.CANCELLED], order_by="starts_at")
        held = [c for c in booked if c.starts_at < cutoff and c.contact_email is not None][:batch]
        for chat in held:
            chat.team_name = chat.contact_name = chat.contact_email = chat.about = None
        uow.commit()
    return len(held)


def ask_inactive(uow: UnitOfWork, clock: Clock, policy: RetentionPolicy, cutoff: datetime) -> int:
    """A review and an owed question for each volunteer with no activity since ``cutoff``."""
    with uow:
        candidates = uow.retention.inactive_volunteers(cutoff, policy.batch)
    asked = 0
    for volunteer_id in candidates:
        now = clock.now()
        try:
            with uow:
                # Locked: a second run waits here, then finds the review this one opened.
                volunteer = uow.volunteers.get(volunteer_id, for_update=True)
                if volunteer is None or volunteer.erased:
                    continue
                if uow.reviews.count(volunteer_id=volunteer_id, status=list(ReviewStatus.OPEN)):
                    continue
                if uow.retention.active_since(volunteer_id, cutoff):
                    continue
                review = RetentionReview(volunteer_id, asked_at=now, due_at=now + timedelta(days=policy.grace_days))
                uow.reviews.add(review)
                deliveries.owe(uow, delivery_key(review.id), now)
                uow.events.add(Event(EventKind.RETENTION_ASKED, now, volunteer_id=volunteer_id))
                uow.commit()
                asked += 1
        except Concurrent:
            continue  # another run opened this volunteer's review first (the unique index)
    return asked


def erase_unanswered(
    uow: UnitOfWork, clock: Clock, policy: RetentionPolicy, mailer: Mailer | None = None, texter: Texter | None = None
) -> tuple[int, int]:
    """Reviews past their due time: kept if the volunteer was active since being asked,
    else erased. Returns (kept, erased)."""
    now = clock.now()
    with uow:
        due = [r.id for r in uow.reviews.where(status=ReviewStatus.ASKED, order_by="due_at") if r.due_at <= now]
        stale = [
            r.id
            for r in uow.reviews.where(status=ReviewStatus.ERASING, order_by="due_at")
            if r.erasing_since is not None and r.erasing_since <= now - ERASING_LEASE
        ]
    kept = erased = 0
    for review_id in (stale + due)[: policy.batch]:
        with uow:
            review = uow.reviews.get(review_id, for_update=True)
            if review is None:
                continue
            if review.status == ReviewStatus.ASKED:
                volunteer = uow.volunteers.get(review.volunteer_id)
                if volunteer is None or volunteer.erased:  # erased at their own request meanwhile
                    review.begin_erasing(now)
                    review.finish_erasing(now)
                    uow.commit()
                    continue
                if review.due_at > now or uow.deliveries.status(delivery_key(review.id)) not in DELIVERY_SETTLED:
                    continue  # not due, or the question has not gone yet: nobody is erased unasked
                if uow.retention.active_since(review.volunteer_id, review.asked_at):
                    review.keep(now, KeptBecause.ACTIVE)
                    uow.events.add(
                        Event(
                            EventKind.RETENTION_KEPT,
                            now,
                            volunteer_id=review.volunteer_id,
                            data={"because": KeptBecause.ACTIVE},
                        )
                    )
                    uow.commit()
                    kept += 1
                    continue
            elif not (
                review.status == ReviewStatus.ERASING
                and review.erasing_since is not None
                and review.erasing_since <= now - ERASING_LEASE
            ):
                continue  # another run moved it on meanwhile
            review.begin_erasing(now)
            uow.commit()
        _erase(uow, review.volunteer_id, clock, mailer, texter)
        with uow:
            review = uow.reviews.get(review_id, for_update=True)
            if review is not None and review.status == ReviewStatus.ERASING:
                review.finish_erasing(clock.now())
                uow.commit()
        erased += 1
    return kept, erased


def _erase(uow: UnitOfWork, volunteer_id: str, clock: Clock, mailer: Mailer | None, texter: Texter | None) -> None:
    # The volunteers' own erasure, so the counts stay as they do for any erasure; a run taking
    # over from one that died may find the work done already.
    with uow:
        volunteer = uow.volunteers.get(volunteer_id)
        done = volunteer is None or volunteer.erased
    if not done:
        volunteer_self.erase(uow, volunteer_id, clock, mailer, reason=ERASED_BY_RETENTION, texter=texter)


def erase_closed_contacts(
    uow: UnitOfWork, clock: Clock, policy: RetentionPolicy, cutoff: datetime, mailer: Mailer | None = None
) -> int:
    """Anonymise the contact of each request closed before ``cutoff`` (``TeamRequest.erase_contact``)."""
    with uow:
        closed = uow.retention.closed_requests(cutoff, policy.batch)
    erased = 0
    for request_id in closed:
        now = clock.now()
        with uow:
            request = uow.requests.get(request_id, for_update=True)
            if request is None or request.contact_erased_at is not None or request.updated_at is None:
                continue
            if request.updated_at >= cutoff:
                continue
            address = request.contact_email
            request.erase_contact(now)
            team_chats.forget_team(uow, request.id)
            for token in uow.access_tokens.where(subject_id=request.id, used_at=None):
                token.used_at = now  # the status link opens nothing any more
            uow.events.add(Event(EventKind.REQUEST_CONTACT_ERASED, now, team_request_id=request.id))
            # Their emails stay in the mail folder while the address is still someone's contact.
            key = normalise_email(address)
            in_use = uow.requests.count(contact_email_key=key) + uow.volunteers.count(email_key=key)
            uow.commit()
        erased += 1
        uow.purge_residue()
        if mailer is not None and not in_use:
            mailer.forget(address)
    return erased


# -- the question and its answer ----------------------------------------------------------


def send_question(
    uow: UnitOfWork, mailer: Mailer, letters: Letters, key: str, clock: Clock, lease_seconds: int, grace_days: int
) -> int:
    """The owed question (a worker task), if the review is still open; 1 if it went now.

    The erasure date is set as the email is written, ``grace_days`` from then, so a
    question that waited in a backlog still leaves the person the whole grace to answer.
    """
    _, (review_id,) = deliveries.letter_of(key)
    to: list[Volunteer] = []

    def compose() -> Email | None:
        now = clock.now()
        with uow:
            review = uow.reviews.get(review_id, for_update=True)
            volunteer = uow.volunteers.get(review.volunteer_id) if review is not None else None
            if review is None or review.status != ReviewStatus.ASKED or volunteer is None or volunteer.erased:
                return None
            review.due_at = max(review.due_at, now + timedelta(days=grace_days))
            erase_on = review.due_at
            uow.commit()
        to.append(volunteer)
        secret = links.issue(uow, TokenPurpose.KEEP_DETAILS, review_id, clock, ttl=erase_on - now)
        return letters.retention_question(volunteer, secret, erase_on, key)

    def sent(at: datetime) -> Event:
        return Event(EventKind.EMAIL_SENT, at, volunteer_id=to[0].id, data={"letter": LETTER, "to": "volunteer"})

    return int(deliveries.deliver(uow, mailer, key, compose, clock, lease_seconds, sent))


def open_question(uow: UnitOfWork, secret: str, clock: Clock) -> RetentionReview | None:
    """The review a "keep" link answers, while it can still be answered (safe for GET)."""
    token = links.peek(uow, secret, TokenPurpose.KEEP_DETAILS, clock)
    if token is None:
        return None
    with uow:
        review = uow.reviews.get(token.subject_id)
    return review if review is not None and review.status == ReviewStatus.ASKED else None


def keep(uow: UnitOfWork, secret: str, clock: Clock) -> bool:
    """ "Keep my details": the review is closed as kept and the period starts again from now.

    The link is used up under its row's lock, so two presses keep once. False when the
    link is unknown, used or expired, or the review is no longer open.
    """
    if not secret or len(secret) > 200:
        return False
    now = clock.now()
    with uow:
        token = uow.access_tokens.get(links.hash_secret(secret), for_update=True)
        if (
            token is None
            or token.purpose != TokenPurpose.KEEP_DETAILS
            or token.used_at is not None
            or token.expires_at <= now
        ):
            return False
        review = uow.reviews.get(token.subject_id, for_update=True)
        if review is None or review.status != ReviewStatus.ASKED:
            return False
        token.used_at = now
        review.keep(now, KeptBecause.ANSWERED)
        uow.events.add(
            Event(
                EventKind.RETENTION_KEPT, now, volunteer_id=review.volunteer_id, data={"because": KeptBecause.ANSWERED}
            )
        )
        uow.commit()
    return True


def about(uow: UnitOfWork, key: str) -> dict[str, str]:
    """The timeline a retention question belongs on (for the sweep's events)."""
    _, (review_id,) = deliveries.letter_of(key)
    with uow:
        review = uow.reviews.get(review_id)
    return {"volunteer_id": review.volunteer_id} if review is not None else {}
