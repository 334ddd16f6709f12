"""How many private-link emails one address gets: at most ``LINKS_PER_HOUR`` an hour.

Anyone may type an address into "send me my link" or the sign-up form, so without a
limit a stranger could have us send a person's mailbox a stream of emails (twenty a
minute, once). The count is the database's own: the owed link emails of every offer
and request the address holds (their delivery keys name them), so it holds across
web processes and through a Redis outage. A caller locks what the address holds
first, so two askings at one moment are counted one after the other.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from matcher.ports import UnitOfWork
from matcher.services import deliveries

LINKS_PER_HOUR = 3
WINDOW = timedelta(hours=1)
LETTER = "private_link"


@dataclass(frozen=True)
class LinkSent:
    """An offer or request whose private link an address may be sent: (purpose, subject)."""

    purpose: str
    subject_id: str


def key_for(purpose: str, subject_id: str) -> str:
    # A nonce per asking: each asking is its own email (the delivery key is unique).
    return deliveries.key(LETTER, purpose, subject_id, secrets.token_hex(8))


def _prefix(subject: LinkSent) -> str:
    return deliveries.key(LETTER, subject.purpose, subject.subject_id, "")


def owe_within_limit(uow: UnitOfWork, subjects: Sequence[LinkSent], now: datetime) -> list[str]:
    """Inside the caller's unit of work: a link email owed to each of ``subjects`` (what one
    address holds, the volunteer's offer first), as far as the address's hourly allowance
    goes. Returns the keys owed; none once the address has had its ``LINKS_PER_HOUR``."""
    if not subjects:
        return []
    spent = uow.deliveries.owed_since([_prefix(s) for s in subjects], now - WINDOW)
    owed = []
    for subject in subjects[: max(LINKS_PER_HOUR - spent, 0)]:
        delivery_key = key_for(subject.purpose, subject.subject_id)
        deliveries.owe(uow, delivery_key, now)
        owed.append(delivery_key)
    return owed
