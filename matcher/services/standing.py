"""Where each volunteer stands: commitments held (and when those teams meet), involvement
so far, requests they are matched on, and how long they have waited. The rules, the
scoring and the read model all ask this one place."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from matcher.domain import MatchStatus, Volunteer, slots
from matcher.ports import UnitOfWork
from matcher.rules import Standing


def standings(
    uow: UnitOfWork, volunteers: Sequence[Volunteer] | None = None, now: datetime | None = None
) -> dict[str, Standing]:
    """Commitments, past involvement and matched requests for each volunteer with matches.

    Given ``volunteers`` and ``now``, every one of them gets an entry, with the days
    they have waited since registering or since their last involvement ended (for fairness).
    """
    out = {}
    for vid, (standing, since) in standings_and_waits(uow, volunteers).items():
        if now is not None and since is not None:
            standing = replace(standing, waiting_days=max((now - since).days, 0))
        out[vid] = standing
    return out


def standings_and_waits(
    uow: UnitOfWork, volunteers: Sequence[Volunteer] | None = None
) -> dict[str, tuple[Standing, datetime | None]]:
    """Each volunteer's standing without the days waited, and since when they have waited.

    The wait began when they registered or when their last involvement ended; None
    while they hold a commitment (someone holding one is not waiting) or if unknown.
    A population kept in memory keeps the moment and counts the days per event.
    """
    criteria: dict[str, Any] = {} if volunteers is None else {"volunteer_id": [v.id for v in volunteers]}
    held = uow.matches.where(
        status=[MatchStatus.APPROVED, MatchStatus.INTRODUCED, MatchStatus.CLOSED, MatchStatus.REJECTED],
        **criteria,
    )
    active: Counter[str] = Counter()
    past: Counter[str] = Counter()
    requests: dict[str, set[str]] = defaultdict(set)
    committed_to: dict[str, set[str]] = defaultdict(set)
    last_ended: dict[str, datetime] = {}
    for m in held:
        requests[m.volunteer_id].add(m.team_request_id)
        if m.status in MatchStatus.COMMITTED:
            active[m.volunteer_id] += 1
            committed_to[m.volunteer_id].add(m.team_request_id)
        elif m.status == MatchStatus.CLOSED:
            past[m.volunteer_id] += 1
            if m.updated_at is not None:
                last_ended[m.volunteer_id] = max(m.updated_at, last_ended.get(m.volunteer_id, m.updated_at))

    def waiting_since(vid: str, registered: datetime | None) -> datetime | None:
        if active[vid] or registered is None:
            return None
        return max(registered, last_ended.get(vid, registered))

    # Rule 10 needs the meeting times of what each volunteer is committed to.
    wanted = sorted(set().union(*committed_to.values())) if committed_to else []
    meets = {r.id: frozenset(slots(r.meeting_slots)) for r in uow.requests.where(id=wanted)} if wanted else {}
    registered = {v.id: v.created_at for v in volunteers or []}
    ids = set(active) | set(past) | set(requests) | set(registered)
    return {
        vid: (
            Standing(
                active_commitments=active[vid],
                matched_request_ids=frozenset(requests[vid]),
                involvements=past[vid],
                committed_slots=frozenset().union(*(meets.get(rid, frozenset()) for rid in committed_to[vid])),
            ),
            waiting_since(vid, registered.get(vid)),
        )
        for vid in ids
    }
