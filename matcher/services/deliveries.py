"""The one way an email goes out: owed, claimed, sent, marked.

A use case that decides an email is due records it, in its own transaction,
as an owed delivery row and an ``email.owed`` outbox event carrying the
delivery key (IDs only). A worker then claims the key, writes the email
through the ``Letters`` port, sends it and marks it sent. The claim is
committed before the SMTP conversation, so a second worker never sends it
too; a claim a dead worker left behind is taken again after its lease by the
stalled sweep, at most ``MAX_ATTEMPTS`` times, then shown on the timeline.

Keys name the email and carry the IDs it is about, ``<letter>:<id>:...``:

- ``introduction:<match>:<party>``
- ``follow_up:<follow-up>:<stage>:<party>``
- ``private_link:<purpose>:<subject>:<nonce>`` (each asking is its own email)
- ``invitation:<match>:<sequence>:<party>``, ``cancellation:<match>:<sequence>:<party>``
  (a changed or cancelled introductory chat; the sequence makes each change its own email)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from matcher.domain import Event, EventKind
from matcher.ports import Clock, Email, Mailer, UnitOfWork

OWED = EventKind.EMAIL_OWED


def key(letter: str, *ids: object) -> str:
    return ":".join([letter, *map(str, ids)])


def letter_of(delivery_key: str) -> tuple[str, list[str]]:
    letter, *ids = delivery_key.split(":")
    return letter, ids


def owe(uow: UnitOfWork, delivery_key: str, now: datetime) -> None:
    """Inside the caller's unit of work: this email is owed. Nothing is sent here."""
    uow.deliveries.owe(delivery_key, now)
    # The relay hands the key to a worker; the key holds IDs and codes only.
    uow.events.add(Event(OWED, now, data={"key": delivery_key}))


def deliver(
    uow: UnitOfWork,
    mailer: Mailer,
    delivery_key: str,
    compose: Callable[[], Email | None],
    clock: Clock,
    lease_seconds: int,
    sent: Callable[[datetime], Event],
) -> bool:
    """Claim, write, send, mark: True if this call sent the email.

    ``compose`` returns None when the email is no longer wanted (the chat was
    cancelled, the person erased): the delivery is dropped, never sent. A
    failure while sending leaves the claim to lapse, for the sweep to retry.
    """
    if not uow.deliveries.claim(delivery_key, clock.now(), lease_seconds):
        return False  # sent already, or another worker holds a fresh claim
    email = compose()
    if email is None:
        uow.deliveries.drop(delivery_key, clock.now())
        return False
    mailer.send(email)
    uow.deliveries.mark_sent(delivery_key, email.message_id, clock.now())
    with uow:
        uow.events.add(sent(clock.now()))
        uow.commit()
    return True


def stalled(uow: UnitOfWork, clock: Clock, lease_seconds: int, about: Callable[[str], dict[str, Any]]) -> list[str]:
    """Keys to send again: owed or claimed a lease ago and still unsent.

    An email tried MAX_ATTEMPTS times is given up instead, once: an
    ``email.failed`` event on the timeline ``about(key)`` names, so the
    coordinator can reach the person another way.
    """
    now = clock.now()
    again = []
    for delivery_key in uow.deliveries.unsent(now - timedelta(seconds=lease_seconds)):
        if not uow.deliveries.exhausted(delivery_key):
            again.append(delivery_key)
            continue
        if uow.deliveries.give_up(delivery_key):
            fields = about(delivery_key)  # reads in its own unit of work
            data = {**fields.pop("data", {}), "key": delivery_key}
            with uow:
                uow.events.add(Event(EventKind.EMAIL_FAILED, now, data=data, **fields))
                uow.commit()
    return again
