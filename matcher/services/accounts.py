"""Managing coordinator accounts: API tokens, signing out everywhere, passwords, invitations,
resets and deactivation.

Every token here is an ``AccessToken`` row (a random secret, stored hashed), so any of
them can be listed and ended on the server. Each action is one function, so a record
of who did what (an audit log) can be added beside it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from matcher.domain import (
    AccessToken,
    AuditAction,
    AuditSubject,
    Coordinator,
    Event,
    EventKind,
    TokenPurpose,
    normalise_email,
)
from matcher.errors import Conflict, Forbidden, Invalid, NotFound
from matcher.ports import Clock, Email, Letters, Mailer, UnitOfWork
from matcher.services import audit, deliveries, links, passwords, second_factor
from matcher.services.coordinators import check_new_account

INVITE_TTL = timedelta(days=7)
RESET_TTL = timedelta(hours=1)
LETTER = "coordinator_link"


# --- API tokens ----------------------------------------------------------------------------------


def issue_api_token(
    uow: UnitOfWork, coordinator: Coordinator, clock: Clock, hours: int, label: str | None = None
) -> tuple[str, datetime]:
    """A bearer token for the API; its secret is returned once and stored only as a hash."""
    now = clock.now()
    secret = secrets.token_urlsafe(32)
    with uow:
        uow.access_tokens.add(
            AccessToken(
                id=links.hash_secret(secret),
                purpose=TokenPurpose.COORDINATOR_API,
                subject_id=coordinator.id,
                created_at=now,
                expires_at=now + timedelta(hours=hours),
                label=(label or "").strip()[:100] or None,
            )
        )
        uow.commit()
    return secret, now + timedelta(hours=hours)


def api_token_holder(uow: UnitOfWork, secret: str, clock: Clock) -> str | None:
    """The coordinator id a live API token belongs to (the token's last use noted, to the minute)."""
    if not secret or len(secret) > 200:
        return None
    now = clock.now()
    with uow:
        token = uow.access_tokens.get(links.hash_secret(secret))
        if token is None or token.purpose != TokenPurpose.COORDINATOR_API or token.used_at is not None:
            return None
        if token.expires_at <= now:
            return None
        if token.last_seen_at is None or now - token.last_seen_at > timedelta(minutes=1):
            token.last_seen_at = now
            uow.commit()
        return token.subject_id


def api_tokens(uow: UnitOfWork, coordinator: Coordinator, clock: Clock) -> list[AccessToken]:
    """The coordinator's live API tokens, newest first."""
    now = clock.now()
    with uow:
        live = uow.access_tokens.where(subject_id=coordinator.id, purpose=TokenPurpose.COORDINATOR_API, used_at=None)
        return sorted((t for t in live if t.expires_at > now), key=lambda t: t.created_at, reverse=True)


def revoke_api_token(uow: UnitOfWork, coordinator: Coordinator, token_id: str, clock: Clock) -> None:
    """End one of the coordinator's own API tokens; 404 for anyone else's or one already ended."""
    with uow:
        token = uow.access_tokens.get(token_id, for_update=True) if len(token_id) <= 64 else None
        if (
            token is None
            or token.purpose != TokenPurpose.COORDINATOR_API
            or token.subject_id != coordinator.id
            or token.used_at is not None
        ):
            raise NotFound("no such token of yours, or it has ended already")
        token.used_at = clock.now()
        audit.record(uow, coordinator, AuditAction.TOKEN_REVOKED, AuditSubject.COORDINATOR, coordinator.id, clock)
        uow.commit()


def _end(uow: UnitOfWork, coordinator_id: str, purposes: tuple[str, ...], now: datetime, keep: str = "") -> int:
    live = uow.access_tokens.where(subject_id=coordinator_id, purpose=list(purposes), used_at=None)
    ended = 0
    for token in live:
        if token.id != keep:
            token.used_at = now
            ended += 1
    return ended


def sign_out_everywhere(uow: UnitOfWork, coordinator: Coordinator, clock: Clock) -> int:
    """End every page session and API token of the coordinator, this one too; how many ended."""
    with uow:
        ended = _end(uow, coordinator.id, TokenPurpose.COORDINATOR_SIGN_INS, clock.now())
        audit.record(
            uow, coordinator, AuditAction.SIGNED_OUT_EVERYWHERE, AuditSubject.COORDINATOR, coordinator.id, clock
        )
        uow.commit()
    return ended


# --- Passwords -----------------------------------------------------------------------------------


def change_password(
    uow: UnitOfWork, coordinator: Coordinator, current: str, new: str, clock: Clock, session_secret: str | None = None
) -> None:
    """A signed-in coordinator's new password; their other page sessions end, this one stays."""
    with uow:
        me = uow.coordinators.get(coordinator.id, for_update=True)
        if me is None or not me.active:
            raise NotFound("no such coordinator")
        errors: dict[str, list[str]] = {}
        if not passwords.verify(me.password_hash, current):
            errors["current_password"] = ["This is not your current password."]
        wrong = passwords.problems(new, me.email)
        if wrong:
            errors["password"] = wrong
        if errors:
            raise Invalid(errors)
        me.password_hash = passwords.hash_password(new)
        keep = links.hash_secret(session_secret) if session_secret else ""
        _end(uow, me.id, (TokenPurpose.COORDINATOR_SESSION,), clock.now(), keep=keep)
        audit.record(uow, me, AuditAction.PASSWORD_CHANGED, AuditSubject.COORDINATOR, me.id, clock)
        uow.commit()


def ask_for_reset(uow: UnitOfWork, email: str, clock: Clock) -> None:
    """Owe a reset link if the email has a usable account; the caller's answer is the same either way."""
    with uow:
        found = uow.coordinators.where(email=normalise_email(email))
        if not found or not found[0].active or found[0].invited:
            return  # an invitation is its own link; a deactivated account gets none
        _owe_link(uow, TokenPurpose.PASSWORD_RESET, found[0].id, clock.now())
        uow.commit()


def _owe_link(uow: UnitOfWork, purpose: str, coordinator_id: str, now: datetime) -> str:
    # The secret is made only when the email is written (as links.owe_private_link does).
    key = deliveries.key(LETTER, purpose, coordinator_id, secrets.token_hex(8))
    deliveries.owe(uow, key, now)
    return key


@dataclass(frozen=True)
class LinkHolder:
    purpose: str  # TokenPurpose.COORDINATOR_INVITE or PASSWORD_RESET
    coordinator: Coordinator
    totp_uri: str | None  # shown on an invitation's page, to enrol the authenticator


def link_holder(uow: UnitOfWork, secret: str, clock: Clock) -> LinkHolder | None:
    """Whose invitation or reset link this is, if it is still good (looking does not use it)."""
    for purpose in TokenPurpose.COORDINATOR_LINKS:
        token = links.peek(uow, secret, purpose, clock)
        if token is None:
            continue
        with uow:
            coordinator = uow.coordinators.get(token.subject_id)
        if coordinator is None or not coordinator.active:
            return None
        invite = purpose == TokenPurpose.COORDINATOR_INVITE
        uri = second_factor.provisioning_uri(coordinator) if invite and coordinator.totp_secret else None
        return LinkHolder(purpose, coordinator, uri)
    return None


def set_password_by_link(
    uow: UnitOfWork, secret: str, password: str, otp: str, clock: Clock, require_totp: bool
) -> tuple[Coordinator, list[str]] | None:
    """Use an invitation or reset link to set the password; None if the link is dead.

    An invitation also enrols the authenticator (when TOTP is required, its first code
    proves it) and returns ten recovery codes, shown once. A reset ends every sign-in
    the account had: whoever knew the old password is out.
    """
    if not secret or len(secret) > 200:
        return None
    now = clock.now()
    with uow:
        token = uow.access_tokens.get(links.hash_secret(secret), for_update=True)
        if (
            token is None
            or token.purpose not in TokenPurpose.COORDINATOR_LINKS
            or token.used_at is not None
            or token.expires_at <= now
        ):
            return None
        coordinator = uow.coordinators.get(token.subject_id, for_update=True)
        if coordinator is None or not coordinator.active:
            return None
        invite = token.purpose == TokenPurpose.COORDINATOR_INVITE
        errors: dict[str, list[str]] = {}
        wrong = passwords.problems(password, coordinator.email)
        if wrong:
            errors["password"] = wrong
        if invite and require_totp and not second_factor.accept_totp(coordinator, otp, now):
            errors["otp"] = ["Enter the 6-digit code your authenticator app shows for qimatch now."]
        if errors:
            raise Invalid(errors)
        coordinator.password_hash = passwords.hash_password(password)
        token.used_at = now
        _end(uow, coordinator.id, TokenPurpose.COORDINATOR_LINKS, now)  # older links die with it
        codes: list[str] = []
        if invite:
            codes = second_factor.new_recovery_codes(uow, coordinator, now)
        else:
            _end(uow, coordinator.id, TokenPurpose.COORDINATOR_SIGN_INS, now)
        uow.commit()
        return coordinator, codes


# --- Admins: coordinators, invitations, deactivation ---------------------------------------------


def _admin(by: Coordinator) -> None:
    if not by.admin:
        raise Forbidden("only an admin coordinator manages accounts")


def coordinators(uow: UnitOfWork, by: Coordinator) -> list[Coordinator]:
    _admin(by)
    with uow:
        return sorted(uow.coordinators.where(), key=lambda c: c.email)


def invite(
    uow: UnitOfWork,
    by: Coordinator,
    email: str,
    areas: list[str],
    clock: Clock,
    name: str | None = None,
    admin: bool = False,
) -> Coordinator:
    """An account with no password yet, and an emailed link (through the delivery claim) to set one."""
    _admin(by)
    errors: dict[str, list[str]] = {}
    with uow:
        key = check_new_account(uow, email, areas, errors)
        now = clock.now()
        coordinator = Coordinator(
            email=key,
            password_hash="",
            areas=list(areas),
            name=(name or "").strip() or None,
            admin=admin,
            created_at=now,
            totp_secret=second_factor.new_secret(),
        )
        uow.coordinators.add(coordinator)
        _owe_link(uow, TokenPurpose.COORDINATOR_INVITE, coordinator.id, now)
        audit.record(
            uow, by, AuditAction.COORDINATOR_INVITED, AuditSubject.COORDINATOR, coordinator.id, clock,
            admin="yes" if admin else "no",
        )  # fmt: skip
        uow.commit()
    return coordinator


def deactivate(uow: UnitOfWork, by: Coordinator, coordinator_id: str, clock: Clock) -> Coordinator:
    """The account can no longer sign in; its sessions, tokens and links end now."""
    _admin(by)
    if coordinator_id == by.id:
        raise Conflict("you cannot deactivate your own account: ask another admin")
    with uow:
        coordinator = uow.coordinators.get(coordinator_id, for_update=True)
        if coordinator is None:
            raise NotFound("no such coordinator")
        coordinator.active = False
        now = clock.now()
        _end(uow, coordinator.id, TokenPurpose.COORDINATOR_SIGN_INS + TokenPurpose.COORDINATOR_LINKS, now)
        audit.record(uow, by, AuditAction.COORDINATOR_DEACTIVATED, AuditSubject.COORDINATOR, coordinator.id, clock)
        uow.commit()
    return coordinator


# --- The worker's side: the owed invitation or reset email --------------------------------------


def send_owed_link(
    uow: UnitOfWork, mailer: Mailer, letters: Letters, delivery_key: str, clock: Clock, lease_seconds: int
) -> int:
    """Issue the owed invitation or reset link and email it (a worker task); 1 if it went now."""
    _, (purpose, coordinator_id, _nonce) = deliveries.letter_of(delivery_key)

    def compose() -> Email | None:
        with uow:
            coordinator = uow.coordinators.get(coordinator_id)
        if coordinator is None or not coordinator.active:
            return None  # deactivated since: no link
        if purpose == TokenPurpose.COORDINATOR_INVITE and not coordinator.invited:
            return None  # they arrived by an earlier invitation
        ttl = INVITE_TTL if purpose == TokenPurpose.COORDINATOR_INVITE else RESET_TTL
        secret = links.issue(uow, purpose, coordinator_id, clock, ttl)
        return letters.coordinator_link(purpose, coordinator, secret, delivery_key, ttl)

    def sent(at: datetime) -> Event:
        return Event(EventKind.EMAIL_SENT, at, data={"letter": purpose, "to": "self"})

    return int(deliveries.deliver(uow, mailer, delivery_key, compose, clock, lease_seconds, sent))


def token_id(secret: str) -> str:
    """The id a token is listed under (its hash: the secret itself is never stored)."""
    return links.hash_secret(secret)
