"""The audit log: what each coordinator did, written where they did it.

A use case that changes something adds its entry to its own unit of work, so the
entry and the change are committed together or not at all (``record``). Actions that
change nothing in the store (a sign-in, an export) write their entry alone
(``record_alone``). Entries hold ids and codes only: see ``AuditEntry``. Who may read
which entries is ``queries.audit_log``'s business.
"""

from __future__ import annotations

from typing import Any

from matcher.domain import AuditAction, AuditEntry, AuditSubject, Coordinator, normalise_email
from matcher.ports import Clock, UnitOfWork

# A typed address is kept to this length: enough for any real one, no room for an essay.
MAX_TYPED_EMAIL = 320


def record(
    uow: UnitOfWork,
    coordinator: Coordinator,
    action: AuditAction,
    subject_kind: AuditSubject,
    subject_id: str | None,
    clock: Clock,
    **details: Any,
) -> AuditEntry:
    """Inside the caller's unit of work: committed with the action, or not at all."""
    entry = AuditEntry(action, clock.now(), subject_kind, subject_id, coordinator.id, dict(details))
    uow.audit.add(entry)
    return entry


def record_alone(
    uow: UnitOfWork,
    coordinator: Coordinator,
    action: AuditAction,
    subject_kind: AuditSubject,
    subject_id: str | None,
    clock: Clock,
    **details: Any,
) -> AuditEntry:
    """An action that stores nothing else (an export): its entry in a unit of work of its own."""
    with uow:
        entry = record(uow, coordinator, action, subject_kind, subject_id, clock, **details)
        uow.commit()
    return entry


def sign_in(uow: UnitOfWork, typed_email: str, signed_in: Coordinator | None, clock: Clock, via: str) -> None:
    """A sign-in, successful or not, by the address typed; ``via`` is "page" or "api".

    A failure names the account tried when there is one (so its owner sees attempts on
    it), and keeps the address as typed, cut short; never the password.
    """
    with uow:
        if signed_in is not None:
            entry = AuditEntry(
                AuditAction.SIGNED_IN,
                clock.now(),
                AuditSubject.COORDINATOR,
                signed_in.id,
                signed_in.id,
                {"via": via},
            )
        else:
            typed = normalise_email(typed_email)[:MAX_TYPED_EMAIL]
            tried = uow.coordinators.where(email=typed)
            entry = AuditEntry(
                AuditAction.SIGN_IN_FAILED,
                clock.now(),
                AuditSubject.COORDINATOR,
                tried[0].id if tried else None,
                None,
                {"via": via, "account": "known" if tried else "unknown"},
                attempted_email=typed,
            )
        uow.audit.add(entry)
        uow.commit()
