"""Who has been inactive for the retention period: one query each, portable SQL.

The rule is ``RetentionReads``'s (``matcher.ports``); the in-memory fake in
``tests/fakes.py`` keeps the same one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, not_, or_, select
from sqlalchemy.orm import Session

from matcher.adapters import orm
from matcher.domain import EventKind, MatchStatus, RequestStatus, ReviewStatus

# A match that is the volunteer's doing: one they took up (and may since have ended).
TAKEN_UP = (*MatchStatus.COMMITTED, MatchStatus.CLOSED)


def _no_activity_since(since: datetime) -> list[Any]:
    """Conditions on ``volunteers`` (v) that hold when the volunteer did nothing at or after ``since``."""
    v, m, e, r = orm.volunteers.c, orm.matches.c, orm.events.c, orm.retention_reviews.c
    return [
        v.created_at < since,
        v.updated_at < since,
        not_(
            exists().where(
                m.volunteer_id == v.id,
                or_(m.status.in_(MatchStatus.COMMITTED), and_(m.status.in_(TAKEN_UP), m.updated_at >= since)),
            )
        ),
        not_(
            exists().where(
                e.volunteer_id == v.id, e.kind == EventKind.VOLUNTEER_SIGNED_IN.value, e.occurred_at >= since
            )
        ),
        not_(exists().where(r.volunteer_id == v.id, r.answered_at >= since)),
    ]


class SqlRetentionReads:
    def __init__(self, session: Session) -> None:
        self.session = session

    def inactive_volunteers(self, before: datetime, limit: int) -> list[str]:
        v, r = orm.volunteers.c, orm.retention_reviews.c
        stmt = (
            select(v.id)
            .where(
                v.erased_at.is_(None),
                *_no_activity_since(before),
                not_(exists().where(r.volunteer_id == v.id, r.status.in_(ReviewStatus.OPEN))),
            )
            .order_by(v.updated_at, v.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def active_since(self, volunteer_id: str, since: datetime) -> bool:
        v = orm.volunteers.c
        idle = self.session.scalar(select(v.id).where(v.id == volunteer_id, *_no_activity_since(since)))
        return idle is None

    def closed_requests(self, before: datetime, limit: int) -> list[str]:
        t = orm.team_requests.c
        stmt = (
            select(t.id)
            .where(t.status == RequestStatus.CLOSED, t.contact_erased_at.is_(None), t.updated_at < before)
            .order_by(t.updated_at, t.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))
