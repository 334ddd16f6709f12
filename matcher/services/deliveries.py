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

Texts go the same way, through a ``Texter`` instead of a ``Mailer``: their keys name
the channel first, ``text:<letter>:<id>...`` (``matcher.services.texts``), and their
events are ``text.*``. A text handed to GOV.UK Notify with no answer is settled by
asking Notify for its reference (the key) before it is called possibly sent.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from matcher.domain import AuditEntry, Event, EventKind
from matcher.errors import Unavailable
from matcher.ports import Clock, Email, NotHanded, NotSent, Sender, Text, UnitOfWork

OWED = EventKind.EMAIL_OWED
TEXT = "text"  # the channel a key names first; any other key is an email's


@dataclasses.dataclass(frozen=True)
class Channel:
    owed: EventKind
    failed: EventKind
    uncertain: EventKind


CHANNELS = {
    "email": Channel(EventKind.EMAIL_OWED, EventKind.EMAIL_FAILED, EventKind.EMAIL_UNCERTAIN),
    TEXT: Channel(EventKind.TEXT_OWED, EventKind.TEXT_FAILED, EventKind.TEXT_UNCERTAIN),
}


def channel(delivery_key: str) -> str:
    return TEXT if delivery_key.startswith(TEXT + ":") else "email"


def key(letter: str, *ids: object) -> str:
    return ":".join([letter, *map(str, ids)])


def letter_of(delivery_key: str) -> tuple[str, list[str]]:
    letter, *ids = delivery_key.split(":")
    return letter, ids


def owe(uow: UnitOfWork, delivery_key: str, now: datetime, **on_timeline: Any) -> None:
    """Inside the caller's unit of work: this email (or text) is owed. Nothing is sent here."""
    uow.deliveries.owe(delivery_key, now)
    # The relay hands the key to a worker; the key holds IDs and codes only.
    kind = CHANNELS[channel(delivery_key)].owed
    uow.events.add(Event(kind, now, data={"key": delivery_key}, **on_timeline))


def claimant() -> str:
    """A name for one attempt at one email: which machine, which process, which try."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:12]}"


def deliver(
    uow: UnitOfWork,
    sender: Sender,
    delivery_key: str,
    compose: Callable[[], Email | Text | None],
    clock: Clock,
    lease_seconds: int,
    sent: Callable[[datetime], Event],
) -> bool:
    """Claim, write, hand over, send, mark: True if this call sent the email (or text).

    ``sender`` is the channel's: a ``Mailer`` for an email, a ``Texter`` for a text; what
    its ``send`` returns (Notify's notification id) is kept as the delivery's message id.

    ``compose`` returns None when the email is no longer wanted (the chat was
    cancelled, the person erased): the delivery is dropped, never sent.

    Exactly once, at the edges too. The claim names its owner; just before the
    point of no return the owner records "handing", which fails if its claim was
    taken over meanwhile (a worker paused past its lease), and then nothing is
    sent. A server's certain "no" is certain: a 5xx gives this email up at once,
    on the timeline; a 4xx leaves the claim to lapse for the sweep. Any other
    failure after handing leaves the email "handing": the sweep shows it to the
    coordinator as possibly sent, and it is never sent again by itself.
    """
    owner = claimant()
    if not uow.deliveries.claim(delivery_key, clock.now(), lease_seconds, owner):
        return False  # sent already, or another worker holds a fresh claim
    message = compose()
    if message is None:
        uow.deliveries.drop(delivery_key, clock.now())
        return False

    handed = False

    def handing() -> bool:
        nonlocal handed
        handed = uow.deliveries.hand(delivery_key, owner, clock.now())
        return handed

    try:
        answered = sender.send(message, handing)
    except NotHanded:
        return False  # another worker took the claim over: it sends, not us
    except NotSent as refusal:
        if not refusal.permanent:
            uow.deliveries.unhand(delivery_key, owner)
            raise
        if uow.deliveries.refuse(delivery_key, clock.now()):
            refused = sent(clock.now())
            data = {**refused.data, "key": delivery_key, "reason": "refused", "code": refusal.code}
            with uow:
                failed = CHANNELS[channel(delivery_key)].failed
                uow.events.add(dataclasses.replace(refused, kind=failed, data=data))
                uow.commit()
        return False
    except Exception:
        if not handed:
            # The final dot never went (the hand-over itself failed, say the database
            # dropped mid-commit), so nothing was sent; but the "handing" may have been
            # committed all the same. Take it back, so the sweep sends it after the lease
            # instead of showing it as possibly sent.
            _retrying(lambda: uow.deliveries.unhand(delivery_key, owner), patience=lease_seconds / 2)
        raise
    _record_sent(uow, delivery_key, answered or message.message_id, clock, sent, patience=lease_seconds / 2)
    return True


def _retrying(action: Callable[[], object], patience: float) -> None:
    """Do ``action`` through a database blip, for up to ``patience`` seconds; then give up quietly."""
    give_up_at = time.monotonic() + patience
    pause = 0.2
    while True:
        try:
            action()
            return
        except Exception:  # noqa: BLE001 - the store is down; the caller re-raises its own error
            if time.monotonic() + pause > give_up_at:
                return
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _record_sent(
    uow: UnitOfWork,
    delivery_key: str,
    message_id: str,
    clock: Clock,
    sent: Callable[[datetime], Event],
    patience: float,
) -> None:
    """The server took it: record that, through a database blip, for up to ``patience`` seconds.

    Given up after that, the email stays "handing" and is shown as possibly sent:
    never sent a second time by itself.
    """
    give_up_at = time.monotonic() + patience
    pause = 0.2
    while True:
        try:
            with uow:
                uow.deliveries.mark_sent(delivery_key, message_id, clock.now())
                uow.events.add(sent(clock.now()))
                uow.commit()
            return
        except Unavailable:
            if time.monotonic() + pause > give_up_at:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def stalled(
    uow: UnitOfWork,
    clock: Clock,
    lease_seconds: int,
    about: Callable[[str], dict[str, Any]],
    find_text: Callable[[str], str | None] | None = None,
) -> list[str]:
    """Keys to send again: owed or claimed a lease ago, still unsent, not queued again since.

    An email tried MAX_ATTEMPTS times is given up instead, once: an
    ``email.failed`` event on the timeline ``about(key)`` names, so the
    coordinator can reach the person another way. An email handed to the
    server a lease ago with no answer recorded is never queued again: it
    becomes "possibly sent" (``email.uncertain``), for the coordinator to resend.

    A text handed over with no answer is settled first by ``find_text(key)`` (Notify
    looked up by the reference the text carries): found, it was sent; certainly not
    found, it is claimed again and goes at the next sweep; if Notify cannot say, it is
    possibly sent like an email.
    """
    now = clock.now()
    before = now - timedelta(seconds=lease_seconds)
    if find_text is not None:
        _settle_texts(uow, before, now, about, find_text)
    again = []
    for delivery_key in uow.deliveries.unsent(before, now):
        if not uow.deliveries.exhausted(delivery_key):
            again.append(delivery_key)
            continue
        if uow.deliveries.give_up(delivery_key):
            _on_timeline(uow, CHANNELS[channel(delivery_key)].failed, delivery_key, now, about)
    for delivery_key in uow.deliveries.uncertain(before):
        _on_timeline(uow, CHANNELS[channel(delivery_key)].uncertain, delivery_key, now, about)
    return again


def _settle_texts(
    uow: UnitOfWork,
    before: datetime,
    now: datetime,
    about: Callable[[str], dict[str, Any]],
    find_text: Callable[[str], str | None],
) -> None:
    """Texts handed to Notify a lease ago with no answer recorded: asked after by reference.

    The sending task's hard time limit is below the lease, so whoever handed it is gone."""
    for delivery_key in uow.deliveries.handed(before, TEXT + ":"):
        try:
            found = find_text(delivery_key)
        except Exception:  # noqa: BLE001 - Notify cannot say: it stays for uncertain() below
            continue
        if found is None:
            uow.deliveries.release(delivery_key)  # never reached Notify: sent again below, as a stalled claim
            continue
        fields = about(delivery_key)
        data = {**fields.pop("data", {}), "key": delivery_key, "settled": True}
        with uow:
            if uow.deliveries.settle(delivery_key, found, now):
                uow.events.add(Event(EventKind.TEXT_SENT, now, data=data, **fields))
            uow.commit()


def _on_timeline(
    uow: UnitOfWork, kind: EventKind, delivery_key: str, now: datetime, about: Callable[[str], dict[str, Any]]
) -> None:
    fields = about(delivery_key)  # reads in its own unit of work
    data = {**fields.pop("data", {}), "key": delivery_key}
    with uow:
        uow.events.add(Event(kind, now, data=data, **fields))
        uow.commit()


def resend(
    uow: UnitOfWork,
    delivery_key: str,
    now: datetime,
    by: str = "",
    on_record: AuditEntry | None = None,
    **on_timeline: Any,
) -> bool:
    """A coordinator's one click: a possibly-sent or failed email is owed again (and queued).
    ``on_record``: the audit entry, committed with the timeline's event."""
    if not uow.deliveries.resend(delivery_key, now):
        return False
    with uow:
        kind = CHANNELS[channel(delivery_key)].owed
        uow.events.add(Event(kind, now, data={"key": delivery_key, "resend": True, "by": by}, **on_timeline))
        if on_record is not None:
            uow.audit.add(on_record)
        uow.commit()
    return True
