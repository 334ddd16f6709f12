"""Coordinators' passwords: argon2 hashes, and what a new password must be.

At least 12 characters (NCSC and NIST SP 800-63B favour length over character
rules), and not one of the 20,000 most common passwords. The list ships inside the
package (``common_passwords.txt.gz``: Royce Williams' list as Django's
CommonPasswordValidator ships it, lower-cased), so the check needs no network.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
# argon2 hashes whatever it is given; a cap keeps a megabyte "password" from costing a CPU.
MAX_LENGTH = 500
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "common_passwords.txt.gz"

_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps response times alike,
# so a timing difference does not reveal who has an account.
DUMMY_HASH = _hasher.hash("not a real password")


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def problems(password: str, email: str | None = None) -> list[str]:
    """Why ``password`` will not do, in words; empty when it will."""
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters: a few words together are easy to remember."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    folded = password.strip().lower()
    if folded in common_passwords() or folded.replace(" ", "") in common_passwords():
        return ["This password is one of the most common ones, which are tried first. Choose another."]
    if email and folded in (email.strip().lower(), email.strip().lower().partition("@")[0]):
        return ["Do not use your email address as your password."]
    return []


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches; an empty or odd hash (an invited account) never does."""
    try:
        return _hasher.verify(stored_hash or DUMMY_HASH, password[:MAX_LENGTH]) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False
