"""What an operator watches, read straight from the database: heartbeats and backlog figures.

Aggregates only (counts and ages): nothing here reads a name, an address or free text, so
the metrics endpoint and readiness can never show personal data. Computed when asked (a
scrape, a health check), so every web process reports the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, delete, exists, func, insert, select
from sqlalchemy.exc import IntegrityError

from matcher.adapters import orm
from matcher.domain import MatchStatus, RequestStatus

# Delivery states a person may need to act on, by the words the metrics use.
EMAIL_STATES = {"sent": "sent", "failed": "failed", "uncertain": "possibly_sent"}
UNSENT = ("owed", "claimed", "handing")


def beat(engine: Engine, name: str, at: datetime) -> None:
    """Record that the canary called ``name`` (a queue or a worker node) completed at ``at``."""
    try:
        with engine.begin() as conn:
            # Delete then insert: one portable upsert.
            conn.execute(delete(orm.heartbeats).where(orm.heartbeats.c.name == name))
            conn.execute(insert(orm.heartbeats).values(name=name, completed_at=at))
    except IntegrityError:
        pass  # two canaries at once: the other one's row says the same (a worker consumes)


def last_beats(engine: Engine) -> dict[str, datetime]:
    with engine.connect() as conn:
        rows = conn.execute(select(orm.heartbeats.c.name, orm.heartbeats.c.completed_at)).all()
    return {name: at for name, at in rows}


@dataclass
class Figures:
    """Backlogs and their ages, in seconds (0 when there is no backlog)."""

    outbox_unpublished: int = 0
    outbox_oldest_seconds: float = 0.0
    emails: dict[str, int] = field(default_factory=dict)
    oldest_unsent_email_seconds: float = 0.0
    requests_waiting: int = 0
    requests_waiting_oldest_seconds: float = 0.0
    approvals_waiting: int = 0


def figures(engine: Engine, now: datetime) -> Figures:
    ev, dl, rq, mt = orm.events.c, orm.deliveries.c, orm.team_requests.c, orm.matches.c

    def age(oldest: datetime | None) -> float:
        return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0

    emails_only = ~dl.key.startswith("text:")  # texts share the table; these figures are the emails'
    with engine.connect() as conn:
        unpublished, oldest_event = conn.execute(
            select(func.count(), func.min(ev.occurred_at)).where(ev.published_at.is_(None))
        ).one()
        by_status: dict[str, int] = dict(
            conn.execute(
                select(dl.status, func.count())
                .where(dl.status.in_(list(EMAIL_STATES)), emails_only)
                .group_by(dl.status)
            ).all()
        )
        oldest_unsent = conn.execute(
            select(func.min(dl.claimed_at)).where(dl.status.in_(UNSENT), emails_only)
        ).scalar()
        # Open requests that have never had a suggestion (any match row at all).
        no_match = ~exists().where(mt.team_request_id == rq.id)
        waiting, oldest_request = conn.execute(
            select(func.count(), func.min(rq.created_at)).where(rq.status == RequestStatus.OPEN, no_match)
        ).one()
        approvals = conn.execute(select(func.count()).where(mt.status == MatchStatus.SUGGESTED)).scalar() or 0
    return Figures(
        outbox_unpublished=unpublished,
        outbox_oldest_seconds=age(_aware(oldest_event)),
        emails={word: int(by_status.get(status, 0)) for status, word in EMAIL_STATES.items()},
        oldest_unsent_email_seconds=age(_aware(oldest_unsent)),
        requests_waiting=waiting,
        requests_waiting_oldest_seconds=age(_aware(oldest_request)),
        approvals_waiting=int(approvals),
    )


def _aware(value: datetime | None) -> datetime | None:
    # Aggregates (min) come back without the column type's conversion on SQLite.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


@dataclass
class Happened:
    """An event as ``qimatch up``'s quiet output tells it: kind, team name, codes; no person."""

    id: int
    kind: str
    team_request_id: str | None
    team_name: str | None
    data: dict[str, object]


def events_after(engine: Engine, after_id: int | None, limit: int = 200) -> list[Happened]:
    """Events newer than ``after_id`` (None: none, just the newest id as a starting point)."""
    ev, rq = orm.events.c, orm.team_requests.c
    with engine.connect() as conn:
        if after_id is None:
            newest = conn.execute(select(func.max(ev.id))).scalar() or 0
            return [Happened(newest, "", None, None, {})]
        rows = conn.execute(
            select(ev.id, ev.kind, ev.team_request_id, rq.team_name, ev.data)
            .select_from(orm.events.outerjoin(orm.team_requests, rq.id == ev.team_request_id))
            .where(ev.id > after_id)
            .order_by(ev.id)
            .limit(limit)
        ).all()
    return [Happened(r.id, r.kind, r.team_request_id, r.team_name, dict(r.data or {})) for r in rows]
