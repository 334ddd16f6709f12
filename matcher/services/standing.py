"""Where each volunteer stands: commitments held (and when those teams meet), involvement
so far, requests they are matched on, and how long they have waited. The rules, the
scoring and the read model all ask this one place."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
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

    def waited(vid: str, registered: datetime | None) -> int:
        if now is None or active[vid] or registered is None:
            return 0  # someone holding a commitment is not waiting
        since = max(registered, last_ended.get(vid, registered))
        return max((now - since).days, 0)

    # Rule 10 needs the meeting times of what each volunteer is committed to.
    wanted = sorted(set().union(*committed_to.values())) if committed_to else []
    meets = {r.id: frozenset(slots(r.meeting_slots)) for r in uow.requests.where(id=wanted)} if wanted else {}
    registered = {v.id: v.created_at for v in volunteers or []}
    ids = set(active) | set(past) | set(requests) | set(registered)
    return {
        vid: Standing(
            active_commitments=active[vid],
            matched_request_ids=frozenset(requests[vid]),
            involvements=past[vid],
            waiting_days=waited(vid, registered.get(vid)),
            committed_slots=frozenset().union(*(meets.get(rid, frozenset()) for rid in committed_to[vid])),
        )
        for vid in ids
    }
