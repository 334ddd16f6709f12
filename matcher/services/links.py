"""Private links and signed-in sessions: random secrets, stored hashed, expiring.

A link's secret (256 random bits) goes out once, by email; only its SHA-256
hash is kept, so a copy of the database opens nobody's page. Looking at a link
(GET) never uses it up, because mail scanners follow links; only redeeming it
(POST) does, exactly once, under a row lock.

Sessions are the same kind of token in a cookie, so signing out ends them on
the server, and an idle one lapses even if the cookie is kept.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from matcher.domain import (
    AccessToken,
    Event,
    EventKind,
    RequestStatus,
    TeamRequest,
    TokenPurpose,
    Volunteer,
    normalise_email,
)
from matcher.ports import Clock, Email, Letters, Mailer, Repository, UnitOfWork
from matcher.services import deliveries
from matcher.services.intake import live_volunteer_with_email

VOLUNTEER_LINK_TTL = timedelta(days=7)
REQUEST_STATUS_TTL = timedelta(days=365)
SESSION_MAX = timedelta(hours=12)
SESSION_IDLE = timedelta(minutes=30)


class TokenUnitOfWork(UnitOfWork, Protocol):
    access_tokens: Repository[AccessToken]


def hash_secret(secret: str) -> str:
    # The secret is 256 random bits: a plain fast hash is enough (nothing to guess).
    return hashlib.sha256(secret.encode()).hexdigest()


def _issue(uow: TokenUnitOfWork, purpose: str, subject_id: str, clock: Clock, ttl: timedelta) -> str:
    secret = secrets.token_urlsafe(32)
    now = clock.now()
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

    Returns (volunteer id, session secret), or None when the link is unknown,
    expired or used already. Exactly one of two simultaneous redeemers wins.
    """
    if not secret or len(secret) > 200:
        return None
    now = clock.now()
    with uow:
        link = _usable(uow.access_tokens.get(hash_secret(secret), for_update=True), TokenPurpose.VOLUNTEER_LINK, clock)
        if link is None:
            return None
        link.used_at = now
        session = _issue(uow, TokenPurpose.VOLUNTEER_SESSION, link.subject_id, clock, SESSION_MAX)
        uow.events.add(Event(EventKind.VOLUNTEER_SIGNED_IN, now, volunteer_id=link.subject_id))
        uow.commit()
        return link.subject_id, session


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


@dataclass(frozen=True)
class LinkSent:
    purpose: str
    subject_id: str


def owe_private_link(uow: TokenUnitOfWork, purpose: str, subject_id: str, clock: Clock) -> str:
    """Record that a fresh link is owed to a volunteer or a team; a worker issues and sends it.

    The secret is made only when the email is written, so it never waits in a
    table or a broker message; each asking is its own email.
    """
    key = deliveries.key("private_link", purpose, subject_id, secrets.token_hex(8))
    with uow:
        deliveries.owe(uow, key, clock.now())
        uow.commit()
    return key


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
    found: list[LinkSent] = []
    with uow:
        volunteer = live_volunteer_with_email(uow, key)
        if volunteer is not None:
            found.append(LinkSent(TokenPurpose.VOLUNTEER_LINK, volunteer.id))
        for r in uow.requests.where(contact_email_key=key, status=[RequestStatus.OPEN, RequestStatus.FILLED]):
            found.append(LinkSent(TokenPurpose.REQUEST_STATUS, r.id))
    return found
