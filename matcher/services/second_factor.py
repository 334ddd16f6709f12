"""The second factor: a TOTP code from an authenticator app, or a single-use recovery code.

A code is accepted for the 30-second step it belongs to and one step either side
(a phone's clock drifts), and only once: the account keeps the last step accepted,
under a row lock, so a code seen over a shoulder or in a log cannot be used again.

Recovery codes are random (60 bits each), shown once, and stored like link secrets:
only a hash (with the account's id, so equal codes of two people never meet).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

import pyotp

from matcher.domain import AccessToken, Coordinator, TokenPurpose
from matcher.ports import UnitOfWork

ISSUER = "qimatch"
RECOVERY_CODES = 10
# Far in the future: a recovery code lasts until it is used or replaced.
RECOVERY_TTL = timedelta(days=3650)
_STEP = 30
_CODE = re.compile(r"^\d{6}$")
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(coordinator: Coordinator) -> str:
    """The otpauth:// URI an authenticator app reads (as a link, or typed in as its secret)."""
    assert coordinator.totp_secret, "no TOTP secret"
    return pyotp.TOTP(coordinator.totp_secret).provisioning_uri(name=coordinator.email, issuer_name=ISSUER)


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator shows at ``at`` (for tests and the enrolment check)."""
    return pyotp.TOTP(secret).at(at)


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def accept_totp(coordinator: Coordinator, code: str, now: datetime) -> bool:
    """Whether ``code`` is good now and was not used before; records its step if so.

    The caller holds the coordinator's row lock and commits.
    """
    code = _normalise(code)
    if not coordinator.totp_secret or not _CODE.match(code):
        return False
    totp = pyotp.TOTP(coordinator.totp_secret)
    for offset in (0, -1, 1):
        at = now + timedelta(seconds=_STEP * offset)
        if hmac.compare_digest(totp.at(at), code):
            step = totp.timecode(at)
            if coordinator.totp_last_step is not None and step <= coordinator.totp_last_step:
                return False  # this code, or a later one, was used already
            coordinator.totp_last_step = step
            return True
    return False


def _recovery_hash(coordinator_id: str, code: str) -> str:
    return hashlib.sha256(f"{coordinator_id}:{_normalise(code)}".encode()).hexdigest()


def new_recovery_codes(uow: UnitOfWork, coordinator: Coordinator, now: datetime) -> list[str]:
    """Ten fresh codes in place of any left; the caller commits. Returned once, in clear."""
    for old in uow.access_tokens.where(subject_id=coordinator.id, purpose=TokenPurpose.RECOVERY_CODE, used_at=None):
        old.used_at = now
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
        uow.access_tokens.add(
            AccessToken(
                id=_recovery_hash(coordinator.id, code),
                purpose=TokenPurpose.RECOVERY_CODE,
                subject_id=coordinator.id,
                created_at=now,
                expires_at=now + RECOVERY_TTL,
            )
        )
        codes.append(code)
    return codes


def use_recovery_code(uow: UnitOfWork, coordinator: Coordinator, code: str, now: datetime) -> bool:
    """Whether ``code`` is one of the account's unused recovery codes; uses it up if so."""
    if len(code) > 40 or len(_normalise(code)) != 12:
        return False
    token = uow.access_tokens.get(_recovery_hash(coordinator.id, code), for_update=True)
    if (
        token is None
        or token.purpose != TokenPurpose.RECOVERY_CODE
        or token.subject_id != coordinator.id
        or token.used_at is not None
    ):
        return False
    token.used_at = now
    return True


def recovery_codes_left(uow: UnitOfWork, coordinator_id: str) -> int:
    return uow.access_tokens.count(subject_id=coordinator_id, purpose=TokenPurpose.RECOVERY_CODE, used_at=None)


def accept(uow: UnitOfWork, coordinator: Coordinator, code: str, now: datetime) -> bool:
    """A TOTP code or a recovery code; the caller holds the row lock and commits."""
    if not code or len(code) > 40:
        return False
    if _CODE.match(_normalise(code)):
        return accept_totp(coordinator, code, now)
    return use_recovery_code(uow, coordinator, code, now)
