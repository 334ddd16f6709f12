"""The few plain SQL reads a worker's kept population needs: what changed, and counts.

Kept in one place because the watermark is subtle on PostgreSQL: marks are the
writers' transaction ids, and a transaction that took a lower id may commit after
a reader saw a higher one. So a reader never goes by the highest mark it saw; it
goes by the *horizon*, the oldest transaction still running when it looked
(``pg_snapshot_xmin``). Everything below the horizon had finished by then, so it
was seen; whatever is at or above it is read again next time (a few rows, read
twice, which is harmless).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from matcher.adapters import orm
from matcher.domain import MatchStatus, VolunteerStatus


class SqlMatchingReads:
    def __init__(self, session: Session) -> None:
        self.session = session

    def horizon(self) -> int:
        """A mark every write committed from now on will be at or above.

        Read it *before* ``changed_since``: what commits in between is then read twice,
        never missed.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            return int(self.session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")))
        # SQLite: writers take turns (and so does this reader), so the next mark is max + 1.
        v = orm.volunteers.c
        return int(self.session.scalar(select(func.coalesce(func.max(v.change_mark), 0) + 1)) or 1)

    def changed_since(self, mark: int) -> list[str]:
        """Ids of the volunteers written (or whose standing changed) at or after ``mark``."""
        v = orm.volunteers.c
        # No ORDER BY id: that invites the primary key's index, filtered row by row, over the
        # change_mark index that finds the few rows marked since.
        return sorted(self.session.scalars(select(v.id).where(v.change_mark >= mark)))

    def active_ids(self) -> list[str]:
        v = orm.volunteers.c
        return list(self.session.scalars(select(v.id).where(v.status == VolunteerStatus.ACTIVE).order_by(v.id)))

    def active_count(self) -> int:
        v = orm.volunteers.c
        return int(self.session.scalar(select(func.count()).where(v.status == VolunteerStatus.ACTIVE)) or 0)

    def held_elsewhere(self, request_ids: Collection[str]) -> dict[str, int]:
        """Per volunteer, the places their proposed suggestions on other requests hold."""
        m = orm.matches.c
        stmt = (
            select(m.volunteer_id, func.count())
            .where(m.status == MatchStatus.SUGGESTED, m.proposed.is_(True))
            .group_by(m.volunteer_id)
        )
        if request_ids:
            stmt = stmt.where(m.team_request_id.not_in(sorted(request_ids)))
        return {vid: int(n) for vid, n in self.session.execute(stmt)}
