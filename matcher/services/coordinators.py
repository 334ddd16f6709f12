"""Coordinator accounts: creating one, signing in (password, then a second factor), who is signed in.

Sign-in is kept in ``authenticate`` alone, so one place can record it (an audit
log) and one place decides what a refusal says: never whether the email exists.
"""

from __future__ import annotations

from matcher.domain import Coordinator, normalise_email
from matcher.errors import Conflict, Invalid, Unauthorised
from matcher.ports import Clock, UnitOfWork
from matcher.services import passwords, second_factor

WRONG = "wrong email or password"
WRONG_WITH_CODE = "wrong email, password or one-time code"
NOT_ENROLLED = "this account has no authenticator app set up yet: ask an operator to run qimatch reset-totp"
CODE_NEEDED = "give the one-time code (otp) from your authenticator app, or one of your recovery codes"


def check_new_account(uow: UnitOfWork, email: str, areas: list[str], errors: dict[str, list[str]]) -> str:
    """Collect what is wrong with a new account's email and areas into ``errors``; the email, normalised.

    Inside the caller's unit of work; raises Conflict when the email has an account already.
    """
    key = normalise_email(email)
    if not key or "@" not in key:
        errors["email"] = ["Give an email address."]
    if not areas:
        errors["area"] = ["Give at least one area."]
    known = {t.code for t in uow.terms.where(vocabulary="areas")}
    unknown = [a for a in areas if a not in known]
    if unknown:
        errors["area"] = [f"Unknown area: {a}." for a in unknown]
    if errors:
        raise Invalid(errors)
    if uow.coordinators.where(email=key):
        raise Conflict("a coordinator with this email exists")
    return key


def create_coordinator(
    uow: UnitOfWork,
    email: str,
    password: str,
    areas: list[str],
    clock: Clock,
    name: str | None = None,
    admin: bool = False,
) -> Coordinator:
    """An account with its password set (``qimatch create-coordinator``), and a TOTP secret ready.

    The secret is made whether or not TOTP is required now, so turning the requirement
    on later needs only the enrolment (``enrol`` gives the URI and recovery codes).
    """
    errors: dict[str, list[str]] = {}
    wrong = passwords.problems(password, email)
    if wrong:
        errors["password"] = wrong
    with uow:
        key = check_new_account(uow, email, areas, errors)
        coordinator = Coordinator(
            email=key,
            password_hash=passwords.hash_password(password),
            areas=list(areas),
            name=name,
            admin=admin,
            created_at=clock.now(),
            totp_secret=second_factor.new_secret(),
        )
        uow.coordinators.add(coordinator)
        uow.commit()
    return coordinator


def enrol(uow: UnitOfWork, email: str, clock: Clock, fresh_secret: bool = True) -> tuple[str, list[str]]:
    """The account's authenticator URI and ten fresh recovery codes, each shown once.

    ``fresh_secret`` replaces the TOTP secret (a lost phone: the old app's codes stop working).
    """
    with uow:
        found = uow.coordinators.where(email=normalise_email(email), for_update=True)
        if not found:
            raise Invalid({"email": ["No coordinator has this email address."]})
        coordinator = found[0]
        if fresh_secret or not coordinator.totp_secret:
            coordinator.totp_secret = second_factor.new_secret()
            coordinator.totp_last_step = None
        codes = second_factor.new_recovery_codes(uow, coordinator, clock.now())
        uri = second_factor.provisioning_uri(coordinator)
        uow.commit()
    return uri, codes


def authenticate(
    uow: UnitOfWork,
    email: str,
    password: str,
    clock: Clock | None = None,
    otp: str | None = None,
    require_totp: bool = False,
) -> Coordinator:
    """The account these credentials open, or Unauthorised in words that never say whether it exists.

    With ``require_totp``, ``otp`` must be the authenticator's current code (used once) or an
    unused recovery code (used up).
    """
    if require_totp and not (otp or "").strip():
        raise Unauthorised(CODE_NEEDED)
    wrong = WRONG_WITH_CODE if require_totp else WRONG
    with uow:
        # Locked when a code is checked: two sign-ins with one code are taken one at a time.
        found = uow.coordinators.where(email=normalise_email(email), for_update=require_totp)
        coordinator = found[0] if found else None
        right = passwords.verify(coordinator.password_hash if coordinator else "", password)
        if coordinator is None or not right or not coordinator.active:
            raise Unauthorised(wrong)
        if require_totp:
            assert clock is not None and otp is not None
            if not coordinator.totp_secret:
                # Made before TOTP was required: only an operator can enrol it (the password was right).
                raise Unauthorised(NOT_ENROLLED)
            if not second_factor.accept(uow, coordinator, otp, clock.now()):
                raise Unauthorised(wrong)
            uow.commit()
        return coordinator


def signed_in(uow: UnitOfWork, coordinator_id: str) -> Coordinator | None:
    """The coordinator a valid session or token names, or None if the account is gone or deactivated."""
    with uow:
        coordinator = uow.coordinators.get(coordinator_id)
        return coordinator if coordinator is not None and coordinator.active else None


def any_coordinator(uow: UnitOfWork) -> bool:
    """Whether anyone can sign in yet (``qimatch up`` says how to create the first account)."""
    with uow:
        return uow.coordinators.count() > 0
