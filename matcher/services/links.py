"""Private links and signed-in sessions: random secrets, stored hashed, expiring.

A link's secret (256 random bits) goes out once, by email; only its SHA-256
hash is kept, so a copy of the database opens nobody's page. Looking at a link
(GET) never uses it up, because mail scanners follow links; only redeeming it
(POST) does, exactly once, under a row lock.

Sessions are the same kind of token in a cookie, so signing out ends them on
the server, and an idle one lapses even if the cookie is kept.

Only the latest link of a kind is live: issuing one ends the earlier unused ones
of the same purpose for the same person. Redeeming a volunteer's link also
proves the email address is theirs, so it confirms an unconfirmed offer.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Protocol

from matcher.domain import (
    AccessToken,
    EmailConfirmation,
    Event,
    EventKind,
    RequestStatus,
    TeamRequest,
    TokenPurpose,
    Volunteer,
    normalise_email,
)
from matcher.ports import Clock, Email, Letters, Mailer, Repository, UnitOfWork
from matcher.services import deliveries, link_emails
from matcher.services.intake import live_volunteer_with_email
from matcher.services.link_emails import LinkSent

VOLUNTEER_LINK_TTL = timedelta(days=7)
REQUEST_STATUS_TTL = timedelta(days=365)
SESSION_MAX = timedelta(hours=12)
SESSION_IDLE = timedelta(minutes=30)


class TokenUnitOfWork(UnitOfWork, Protocol):
    access_tokens: Repository[AccessToken]


def hash_secret(secret: str) -> str:
    # The secret is 256 random bits: a plain fast hash is enough (nothing to guess).
    return hashlib.sha256(secret.encode()).hexdigest()


# Emailed links: a new one ends the earlier unused ones, so only the latest in a mailbox works.
EMAILED = (TokenPurpose.VOLUNTEER_LINK, TokenPurpose.REQUEST_STATUS)


def _issue(uow: TokenUnitOfWork, purpose: str, subject_id: str, clock: Clock, ttl: timedelta) -> str:
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    if purpose in EMAILED:
        for earlier in uow.access_tokens.where(purpose=purpose, subject_id=subject_id, used_at=None):
            earlier.used_at = now
    uow.access_tokens.add(
        AccessToken(
            id=hash_secret(secret), purpose=purpose, subject_id=subject_id, created_at=now, expires_at=now + ttl
        )
    )
    return secret


def issue_alongside(uow: TokenUnitOfWork, purpose: str, subject_id: str, clock: Clock, ttl: timedelta) -> str:
    """Inside the caller's unit of work: a link for a text, leaving the emailed one usable (a
    person who gets both may open either). Expires like any private link."""
    now = clock.now()
    secret = secrets.token_urlsafe(32)
    uow.access_tokens.add(
        AccessToken(
            id=hash_secret(secret), purpose=purpose, subject_id=subject_id, created_at=now, expires_at=now + ttl
        )
    )
    return secret


def issue(uow: TokenUnitOfWork, purpose: str, subject_id: str, clock: Clock, ttl: timedelta | None = None) -> str:
    """A new secret for ``subject_id``; returns it (the only time it exists in clear)."""
    default = {
        TokenPurpose.VOLUNTEER_LINK: VOLUNTEER_LINK_TTL,
        TokenPurpose.REQUEST_STATUS: REQUEST_STATUS_TTL,
    }.get(purpose, SESSION_MAX)
    with uow:
        secret = _issue(uow, purpose, subject_id, clock, ttl or default)
        uow.commit()
    return secret


def _usable(token: AccessToken | None, purpose: str, clock: Clock) -> AccessToken | None:
    if token is None or token.purpose != purpose or token.used_at is not None:
        return None
    if token.expires_at <= clock.now():
        return None
    return token


def peek(uow: TokenUnitOfWork, secret: str, purpose: str, clock: Clock) -> AccessToken | None:
    """The token if it is still good, without using it up (safe for GET)."""
    if not secret or len(secret) > 200:
        return None
    with uow:
        return _usable(uow.access_tokens.get(hash_secret(secret)), purpose, clock)


def redeem_link(uow: TokenUnitOfWork, secret: str, clock: Clock) -> tuple[str, str] | None:
    """Use up a volunteer's emailed link and open a session in its place.

    Opening the link shows the address is theirs: an unconfirmed offer is confirmed
    (and becomes matchable). Returns (volunteer id, session secret), or None when the
    link is unknown, expired or used already. Exactly one of two simultaneous redeemers wins.
    """
    if not secret or len(secret) > 200:
        return None
    now = clock.now()
    with uow:
        link = _usable(uow.access_tokens.get(hash_secret(secret), for_update=True), TokenPurpose.VOLUNTEER_LINK, clock)
        if link is None:
            return None
        link.used_at = now
        _confirm_email(uow, link.subject_id, now)
        session = _issue(uow, TokenPurpose.VOLUNTEER_SESSION, link.subject_id, clock, SESSION_MAX)
        uow.events.add(Event(EventKind.VOLUNTEER_SIGNED_IN, now, volunteer_id=link.subject_id))
        uow.commit()
        return link.subject_id, session


def _confirm_email(uow: TokenUnitOfWork, volunteer_id: str, now: datetime) -> None:
    # Locked after the link: a coordinator's change at the same moment waits, or comes first.
    volunteer = uow.volunteers.get(volunteer_id, for_update=True)
    if volunteer is None or not volunteer.unconfirmed:
        return
    volunteer.confirm_email(EmailConfirmation.LINK, now)
    # In RESCORES: the offer is now matchable, so the open requests it could serve are scored again.
    uow.events.add(
        Event(EventKind.VOLUNTEER_EMAIL_CONFIRMED, now, volunteer_id=volunteer_id, data={"by": EmailConfirmation.LINK})
    )


def start_session(uow: TokenUnitOfWork, purpose: str, subject_id: str, clock: Clock) -> str:
    return issue(uow, purpose, subject_id, clock, SESSION_MAX)


def session_subject(uow: TokenUnitOfWork, secret: str | None, purpose: str, clock: Clock) -> str | None:
    """Who a session belongs to, if it is live; touching it keeps it from going idle."""
    if not secret or len(secret) > 200:
        return None
    now = clock.now()
    with uow:
        token = _usable(uow.access_tokens.get(hash_secret(secret)), purpose, clock)
        if token is None:
            return None
        if (token.last_seen_at or token.created_at) + SESSION_IDLE <= now:
            token.used_at = now  # lapsed: ended for good
            uow.commit()
            return None
        # Writing on every request would be a write per click; a minute's grain is plenty.
        if token.last_seen_at is None or now - token.last_seen_at > timedelta(minutes=1):
            token.last_seen_at = now
            uow.commit()
        return token.subject_id


def end_session(uow: TokenUnitOfWork, secret: str | None, clock: Clock) -> None:
    if not secret or len(secret) > 200:
        return
    with uow:
        token = uow.access_tokens.get(hash_secret(secret))
        if token is not None and token.purpose in TokenPurpose.SESSIONS and token.used_at is None:
            token.used_at = clock.now()
            uow.commit()


def revoke_all(uow: TokenUnitOfWork, subject_id: str, clock: Clock) -> int:
    """End every link and session of one person (on erasure)."""
    now = clock.now()
    with uow:
        live = uow.access_tokens.where(subject_id=subject_id, used_at=None)
        for token in live:
            token.used_at = now
        uow.commit()
    return len(live)


def owe_private_link(uow: TokenUnitOfWork, purpose: str, subject_id: str, clock: Clock) -> str:
    """Record that a fresh link is owed to a volunteer or a team; a worker issues and sends it.

    The secret is made only when the email is written, so it never waits in a
    table or a broker message; each asking is its own email. Not limited: for a
    team's newly submitted request (anything a stranger may ask for again goes
    through ``owe_links_for``).
    """
    key = link_emails.key_for(purpose, subject_id)
    with uow:
        deliveries.owe(uow, key, clock.now())
        uow.commit()
    return key


def owe_links_for(uow: UnitOfWork, address: str, clock: Clock, offer_only: bool = False) -> list[str]:
    """Someone asked for the links of an address: one email per offer and request it holds
    (only its offer, with ``offer_only``), at most ``LINKS_PER_HOUR`` an hour in all.

    Answers the same (nothing) for an unknown address; the caller's page says the same
    either way. What the address holds is locked first (requests, then the volunteer, the
    use cases' order), so two askings at one moment are counted one after the other.
    """
    key = normalise_email(address)
    if not key:
        return []
    with uow:
        subjects = _held_by(uow, key, offer_only, lock=True)
        owed = link_emails.owe_within_limit(uow, subjects, clock.now())
        uow.commit()
    return owed


def _held_by(uow: UnitOfWork, key: str, offer_only: bool, lock: bool = False) -> list[LinkSent]:
    """Inside a unit of work: the live offer, then the open requests (newest first) under ``key``."""
    requests = (
        []
        if offer_only
        else uow.requests.where(
            contact_email_key=key, status=[RequestStatus.OPEN, RequestStatus.FILLED], order_by="id", for_update=lock
        )
    )
    found: list[LinkSent] = []
    volunteer = live_volunteer_with_email(uow, key)
    if volunteer is not None:
        if lock:
            uow.volunteers.get(volunteer.id, for_update=True)
        found.append(LinkSent(TokenPurpose.VOLUNTEER_LINK, volunteer.id))
    newest_first = sorted(requests, key=lambda r: (r.created_at is not None, r.created_at), reverse=True)
    found.extend(LinkSent(TokenPurpose.REQUEST_STATUS, r.id) for r in newest_first)
    return found


def send_owed_link(
    uow: TokenUnitOfWork,
    mailer: Mailer,
    letters: Letters,
    delivery_key: str,
    clock: Clock,
    lease_seconds: int,
) -> int:
    """Issue the owed link and email it (a worker task); 1 if it went now."""
    _, (purpose, subject_id, _nonce) = deliveries.letter_of(delivery_key)

    def compose() -> Email | None:
        subject: Volunteer | TeamRequest | None
        with uow:
            if purpose == TokenPurpose.VOLUNTEER_LINK:
                subject = uow.volunteers.get(subject_id)
            else:
                subject = uow.requests.get(subject_id)
        if subject is None or getattr(subject, "status", None) in ("withdrawn", "closed"):
            return None  # gone since it was asked for: no link to a page that is no more
        secret = issue(uow, purpose, subject_id, clock)
        return letters.private_link(purpose, subject, secret, delivery_key)

    def sent(at: datetime) -> Event:
        event = Event(EventKind.EMAIL_SENT, at, data={"letter": purpose, "to": "self"})
        if purpose == TokenPurpose.VOLUNTEER_LINK:
            event.volunteer_id = subject_id
        else:
            event.team_request_id = subject_id
        return event

    return int(deliveries.deliver(uow, mailer, delivery_key, compose, clock, lease_seconds, sent))


def subjects_for_email(uow: UnitOfWork, address: str) -> list[LinkSent]:
    """Whose links an email address may ask for again: its live offer and open requests.

    Addresses are compared as ``normalise_email`` makes them: case does not matter.
    """
    key = normalise_email(address)
    if not key:
        return []
    with uow:
        return _held_by(uow, key, offer_only=False)
