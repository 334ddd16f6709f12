"""Coordinators edit the programme's text: save, preview, history, revert.

Only an admin coordinator edits (the same rule as the shared vocabularies). A save or a
revert is a new row and its audit entry in one unit of work. An email template that would
fail when a letter is written is refused here, with the line, before anything is stored.
"""

from __future__ import annotations

from matcher import email_templates
from matcher.content import EMAIL_PREFIX, MAX_BODY, ContentVersion, is_known
from matcher.domain import AuditAction, AuditSubject, Coordinator
from matcher.errors import Conflict, Forbidden, Invalid, NotFound
from matcher.ports import Clock, UnitOfWork
from matcher.services import audit


def _admin(coordinator: Coordinator) -> None:
    if not coordinator.admin:
        raise Forbidden("only an admin coordinator edits the programme's pages and emails")


def _known(key: str) -> None:
    if not is_known(key):
        raise NotFound(f"no text called {key}")


def problems(key: str, body: str) -> list[str]:
    """What stops ``body`` being saved as ``key``; [] when nothing does."""
    if len(body) > MAX_BODY:
        return [f"The text is longer than {MAX_BODY:,} characters."]
    if key.startswith(EMAIL_PREFIX):
        return email_templates.problems(key.removeprefix(EMAIL_PREFIX), body)
    return []


def save(
    uow: UnitOfWork,
    coordinator: Coordinator,
    key: str,
    body: str,
    clock: Clock,
    based_on: int | None = None,
) -> ContentVersion:
    """Save ``body`` as the text in force. ``based_on``: the version the editor started from
    (0 for the shipped text); if someone saved another since, the save is refused rather than
    silently undoing their edit."""
    _admin(coordinator)
    _known(key)
    body = body.replace("\r\n", "\n")
    found = problems(key, body)
    if found:
        raise Invalid({"body": found})
    with uow:
        if based_on is not None:
            # Lock the newest row (a second save waits here), then read again: the locked read
            # chose its row before waiting, and the other save may have added a newer one.
            uow.content.latest(key, for_update=True)
            latest = uow.content.latest(key)
            if (latest.id if latest else 0) != based_on:
                raise Conflict(
                    "someone saved a newer version while you were editing; your text is still in the box: "
                    "look at the history, then save again"
                )
        version = ContentVersion(key=key, body=body, by=coordinator.id, at=clock.now())
        uow.content.add(version)
        audit.record(uow, coordinator, AuditAction.CONTENT_SAVED, AuditSubject.CONTENT, key, clock)
        uow.commit()
    return version


def revert(uow: UnitOfWork, coordinator: Coordinator, key: str, version_id: int, clock: Clock) -> ContentVersion:
    """Bring back an earlier version: a new row with its body, so the history keeps both.

    ``version_id`` 0 means the shipped text (the key's rows stay; the newest is a copy of
    nothing, so readers fall back to the shipped file)."""
    _admin(coordinator)
    _known(key)
    with uow:
        if version_id == 0:
            body = ""
        else:
            old = uow.content.get(version_id)
            if old is None or old.key != key:
                raise NotFound(f"no version {version_id} of {key}")
            body = old.body
        version = ContentVersion(key=key, body=body, by=coordinator.id, at=clock.now(), reverted_from=version_id)
        uow.content.add(version)
        audit.record(
            uow, coordinator, AuditAction.CONTENT_REVERTED, AuditSubject.CONTENT, key, clock, version=version_id
        )
        uow.commit()
    return version
