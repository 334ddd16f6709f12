"""A person's data rights, exercised through a coordinator: someone who asks by phone
or letter has their data exported or erased by a coordinator of their area.

The same use cases as the volunteer's own (``volunteer_self.export`` and ``erase``),
behind the area rule, and each on the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from matcher.domain import AuditAction, AuditSubject, Coordinator
from matcher.errors import Conflict, NotFound
from matcher.ports import Clock, Mailer, Texter, UnitOfWork
from matcher.services import audit, volunteer_self
from matcher.services.visibility import visible_volunteer

ALREADY_ERASED = "this volunteer's details were erased already; nothing is left to erase"


def _check(uow: UnitOfWork, volunteer_id: str, coordinator: Coordinator, erased: str) -> None:
    with uow:
        volunteer = visible_volunteer(uow, volunteer_id, coordinator)  # not found outside their areas
        if volunteer.erased:
            raise Conflict(erased)


def export_for(uow: UnitOfWork, volunteer_id: str, coordinator: Coordinator, clock: Clock) -> dict[str, Any]:
    """Everything held about the volunteer (``volunteer_self.export``), for a coordinator to send them."""
    _check(uow, volunteer_id, coordinator, "this volunteer's details were erased; nothing is left to export")
    data = volunteer_self.export(uow, volunteer_id, clock)
    audit.record_alone(
        uow, coordinator, AuditAction.VOLUNTEER_EXPORTED, AuditSubject.VOLUNTEER, volunteer_id, clock, format="json"
    )
    return data


def erase_for(
    uow: UnitOfWork,
    volunteer_id: str,
    coordinator: Coordinator,
    clock: Clock,
    mailer: Mailer | None = None,
    texter: Texter | None = None,
) -> datetime:
    """Erase a volunteer who asked a coordinator to: anonymised, the statistics kept, on the audit log."""
    _check(uow, volunteer_id, coordinator, ALREADY_ERASED)
    try:
        return volunteer_self.erase(uow, volunteer_id, clock, mailer, by=coordinator, texter=texter)
    except NotFound:
        # Erased by someone else between the check and the erasure.
        raise Conflict(ALREADY_ERASED) from None
