"""Coordinator accounts: argon2-hashed passwords, areas they look after."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from matcher.domain import Coordinator
from matcher.errors import Conflict, Invalid, Unauthorised
from matcher.ports import Clock, UnitOfWork

_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps response times alike,
# so a timing difference does not reveal who has an account.
_DUMMY_HASH = _hasher.hash("not a real password")


def create_coordinator(
    uow: UnitOfWork,
    email: str,
    password: str,
    areas: list[str],
    clock: Clock,
    name: str | None = None,
    admin: bool = False,
) -> Coordinator:
    errors: dict[str, list[str]] = {}
    if len(password) < 10:
        errors["password"] = ["Use at least 10 characters."]
    if not areas:
        errors["area"] = ["Give at least one area."]
    with uow:
        known = {t.code for t in uow.terms.where(vocabulary="areas")}
        unknown = [a for a in areas if a not in known]
        if unknown:
            errors["area"] = [f"Unknown area: {a}." for a in unknown]
        if errors:
            raise Invalid(errors)
        email = email.strip().lower()
        if uow.coordinators.where(email=email):
            raise Conflict("a coordinator with this email exists")
        coordinator = Coordinator(
            email=email,
            password_hash=_hasher.hash(password),
            areas=list(areas),
            name=name,
            admin=admin,
            created_at=clock.now(),
        )
        uow.coordinators.add(coordinator)
        uow.commit()
    return coordinator


def authenticate(uow: UnitOfWork, email: str, password: str) -> Coordinator:
    with uow:
        found = uow.coordinators.where(email=email.strip().lower())
        stored_hash = found[0].password_hash if found else _DUMMY_HASH
        try:
            _hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            raise Unauthorised("wrong email or password") from None
        if not found:
            raise Unauthorised("wrong email or password")
        return found[0]


def signed_in(uow: UnitOfWork, coordinator_id: str) -> Coordinator | None:
    """The coordinator a valid session or token names, or None if the account is gone."""
    with uow:
        return uow.coordinators.get(coordinator_id)


def any_coordinator(uow: UnitOfWork) -> bool:
    """Whether anyone can sign in yet (``qimatch up`` says how to create the first account)."""
    with uow:
        return uow.coordinators.count() > 0
