"""The SQLAlchemy unit of work: one transaction per use case, outbox included."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, and_, create_engine, delete, event, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from matcher import calls, domain, outreach, payments, team_chats
from matcher.adapters import log_lines, orm
from matcher.adapters.matching_reads import SqlMatchingReads
from matcher.adapters.retention_reads import SqlRetentionReads
from matcher.content import ContentVersion
from matcher.errors import Concurrent, Unavailable
from matcher.ports import MAX_ATTEMPTS
from matcher.programme_sessions import Booking, ProgrammeSession

log = logging.getLogger(__name__)
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03"}  # shutting down, crashed, not accepting connections yet
T = TypeVar("T")


class SqlRepository(Generic[T]):
    def __init__(self, session: Session, cls: type[T]) -> None:
        self.session = session
        self.cls = cls

    def add(self, obj: T) -> None:
        self.session.add(obj)

    def get(self, id: Any, for_update: bool = False) -> T | None:
        # for_update locks the row until commit (PostgreSQL), so two approvals of the
        # last open place are decided one after the other, not both from a stale count.
        # Locked reads also refresh: what this session read earlier may be stale by now.
        return self.session.get(self.cls, id, with_for_update=for_update or None, populate_existing=for_update)

    def delete(self, obj: T) -> None:
        self.session.delete(obj)

    def _filtered(self, criteria: dict[str, Any], stmt: Any = None) -> Any:
        stmt = select(self.cls) if stmt is None else stmt
        for name, value in criteria.items():
            column = getattr(self.cls, name)
            if isinstance(value, list | tuple | set | frozenset):
                stmt = stmt.where(column.in_(list(value)))
            elif value is None:
                stmt = stmt.where(column.is_(None))
            else:
                stmt = stmt.where(column == value)
        return stmt

    def where(
        self,
        *,
        order_by: str = "created_at",
        limit: int | None = None,
        offset: int = 0,
        for_update: bool = False,
        **criteria: Any,
    ) -> list[T]:
        stmt = self._filtered(criteria)
        key = getattr(self.cls, order_by, None) or getattr(self.cls, "id")  # noqa: B009
        stmt = stmt.order_by(key, getattr(self.cls, "id"))  # noqa: B009
        if limit is not None:
            stmt = stmt.limit(limit).offset(offset)
        if for_update:
            # Rows locked until commit; PostgreSQL re-checks the criteria after waiting,
            # so a row another transaction moved on is no longer returned: a claim.
            stmt = stmt.with_for_update()
        return list(self.session.scalars(stmt))

    def count(self, **criteria: Any) -> int:
        stmt = self._filtered(criteria, select(func.count()).select_from(self.cls))
        return int(self.session.scalar(stmt) or 0)


class SqlEventLog(SqlRepository[domain.Event]):
    """Events also remember which were added in this unit of work, for the relay's fast path."""

    def __init__(self, session: Session) -> None:
        super().__init__(session, domain.Event)
        self.added: list[domain.Event] = []

    def add(self, obj: domain.Event) -> None:
        if obj.request_id is None:
            obj.request_id = log_lines.current().get("request_id")
        super().add(obj)
        self.added.append(obj)
        rescore = obj.rescore()
        if rescore is not None:
            subject, subject_id = rescore
            self.session.execute(
                insert(orm.rescores_due).values(subject=subject.value, subject_id=subject_id, event_kind=obj.kind)
            )


class SqlContent(SqlRepository[ContentVersion]):
    """Saved versions of the programme's text, newest first where it matters."""

    def __init__(self, session: Session) -> None:
        super().__init__(session, ContentVersion)

    def latest(self, key: str, for_update: bool = False) -> ContentVersion | None:
        found = self.history(key, limit=1, for_update=for_update)
        return found[0] if found else None

    def history(self, key: str, limit: int = 50, for_update: bool = False) -> list[ContentVersion]:
        table = orm.content_versions
        stmt = select(ContentVersion).where(table.c.key == key).order_by(table.c.id.desc()).limit(limit)
        if for_update:
            stmt = stmt.with_for_update()
        return list(self.session.scalars(stmt))

    def edited_keys(self) -> dict[str, ContentVersion]:
        """The newest version of every key that has one."""
        table = orm.content_versions
        newest = select(func.max(table.c.id)).group_by(table.c.key)
        stmt = select(ContentVersion).where(table.c.id.in_(newest))
        return {v.key: v for v in self.session.scalars(stmt)}


class SqlRescores:
    def __init__(self, session: Session) -> None:
        self.session = session

    def take(self, limit: int) -> list[domain.RescoreDue]:
        t = orm.rescores_due.c
        # SKIP LOCKED: two workers draining at once take different rows, neither waits.
        # (SQLite has no row locks; its writers take turns, and a row done twice is harmless.)
        stmt = select(t.id, t.subject, t.subject_id).order_by(t.id).limit(limit).with_for_update(skip_locked=True)
        rows = self.session.execute(stmt)
        return [domain.RescoreDue(row.id, domain.Rescore(row.subject), row.subject_id) for row in rows]

    def done(self, taken: list[domain.RescoreDue]) -> None:
        if taken:
            self.session.execute(delete(orm.rescores_due).where(orm.rescores_due.c.id.in_([d.id for d in taken])))


class SqlDeliveries:
    """Claim-once bookkeeping for emails.

    The claim and the hand-over are each committed at once, in their own short
    transaction, so a second worker sees them before the SMTP conversation goes on;
    ``owe`` and ``mark_sent`` belong to the caller's unit of work.
    """

    def __init__(self, session_factory: sessionmaker[Session], owner: SqlUnitOfWork) -> None:
        self.session_factory = session_factory
        self.owner = owner

    def _update(self, *where: Any, **values: Any) -> int:
        with self.session_factory() as s:
            result = s.execute(update(orm.deliveries).where(*where).values(**values))
            s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    def owe(self, key: str, now: datetime) -> None:
        # In the use case's own transaction, with its outbox event: both or neither.
        self.owner.session.execute(insert(orm.deliveries).values(key=key, status="owed", attempts=0, claimed_at=now))

    def claim(
        self, key: str, now: datetime, lease_seconds: int, owner: str = "", max_attempts: int = MAX_ATTEMPTS
    ) -> bool:
        with self.session_factory() as s:
            try:
                s.execute(
                    insert(orm.deliveries).values(key=key, status="claimed", attempts=1, claimed_at=now, owner=owner)
                )
                s.commit()
                return True
            except IntegrityError:
                s.rollback()
        stale = now - timedelta(seconds=lease_seconds)
        c = orm.deliveries.c
        return (
            self._update(
                c.key == key,
                or_(c.status == "owed", and_(c.status == "claimed", c.claimed_at < stale)),
                c.attempts < max_attempts,
                status="claimed",
                claimed_at=now,
                attempts=c.attempts + 1,
                owner=owner,
            )
            == 1
        )

    def hand(self, key: str, owner: str, now: datetime) -> bool:
        c = orm.deliveries.c
        return self._update(c.key == key, c.status == "claimed", c.owner == owner, status="handing", handed_at=now) == 1

    def unhand(self, key: str, owner: str) -> None:
        c = orm.deliveries.c
        self._update(c.key == key, c.status == "handing", c.owner == owner, status="claimed")

    def refuse(self, key: str, now: datetime) -> bool:
        c = orm.deliveries.c
        return self._update(c.key == key, c.status.in_(["claimed", "handing"]), status="failed") == 1

    def drop(self, key: str, now: datetime) -> None:
        self._update(orm.deliveries.c.key == key, status="dropped", sent_at=now)

    def unsent(self, before: datetime, now: datetime) -> list[str]:
        c = orm.deliveries.c
        with self.session_factory() as s:
            rows = s.execute(
                update(orm.deliveries)
                .where(
                    c.status.in_(["owed", "claimed"]),
                    c.claimed_at < before,
                    or_(c.requeued_at.is_(None), c.requeued_at < before),
                )
                .values(requeued_at=now)
                .returning(c.key, c.id)
            ).all()
            s.commit()
            return [row.key for row in sorted(rows, key=lambda r: r.id)]

    def uncertain(self, before: datetime) -> list[str]:
        c = orm.deliveries.c
        with self.session_factory() as s:
            rows = s.execute(
                update(orm.deliveries)
                .where(c.status == "handing", c.handed_at < before)
                .values(status="uncertain")
                .returning(c.key, c.id)
            ).all()
            s.commit()
            return [row.key for row in sorted(rows, key=lambda r: r.id)]

    def handed(self, before: datetime, prefix: str) -> list[str]:
        c = orm.deliveries.c
        stmt = select(c.key).where(
            c.status == "handing", c.handed_at < before, c.key.startswith(prefix, autoescape=True)
        )
        with self.session_factory() as s:
            return list(s.scalars(stmt.order_by(c.id)))

    def release(self, key: str) -> None:
        c = orm.deliveries.c
        self._update(c.key == key, c.status == "handing", status="claimed", owner=None, handed_at=None)

    def settle(self, key: str, message_id: str, now: datetime) -> bool:
        # In the caller's unit of work, with its text.sent event: both or neither.
        c = orm.deliveries.c
        result = self.owner.session.execute(
            update(orm.deliveries)
            .where(c.key == key, c.status == "handing")
            .values(status="sent", sent_at=now, message_id=message_id)
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]

    def receipt(self, message_id: str, receipt: str, now: datetime) -> str | None:
        c = orm.deliveries.c
        with self.session_factory() as s:
            key = s.execute(
                update(orm.deliveries)
                .where(
                    c.message_id == message_id,
                    c.key.startswith("text:"),
                    or_(c.receipt.is_(None), c.receipt != receipt),
                )
                .values(receipt=receipt, receipt_at=now)
                .returning(c.key)
            ).scalar()
            s.commit()
            return key

    def resend(self, key: str, now: datetime) -> bool:
        c = orm.deliveries.c
        return (
            self._update(
                c.key == key,
                c.status.in_(["uncertain", "failed"]),
                status="owed",
                attempts=0,
                claimed_at=now,
                requeued_at=None,
                owner=None,
            )
            == 1
        )

    def give_up(self, key: str, max_attempts: int = MAX_ATTEMPTS) -> bool:
        c = orm.deliveries.c
        return self._update(c.key == key, c.status == "claimed", c.attempts >= max_attempts, status="failed") == 1

    def mark_sent(self, key: str, message_id: str, now: datetime) -> None:
        # In the caller's unit of work, with its email.sent event: both or neither.
        self.owner.session.execute(
            update(orm.deliveries)
            .where(orm.deliveries.c.key == key)
            .values(status="sent", sent_at=now, message_id=message_id)
        )

    def exhausted(self, key: str, max_attempts: int = MAX_ATTEMPTS) -> bool:
        with self.session_factory() as s:
            row = s.execute(
                select(orm.deliveries.c.status, orm.deliveries.c.attempts).where(orm.deliveries.c.key == key)
            ).first()
            return row is not None and row.status in ("claimed", "failed") and row.attempts >= max_attempts

    def status(self, key: str) -> str | None:
        with self.session_factory() as s:
            return s.scalar(select(orm.deliveries.c.status).where(orm.deliveries.c.key == key))

    def is_sent(self, key: str) -> bool:
        return self.status(key) == "sent"

    def listed(self, prefixes: Collection[str]) -> list[domain.Delivery]:
        if not prefixes:
            return []
        c = orm.deliveries.c
        stmt = (
            select(c.key, c.status, c.attempts, c.claimed_at, c.sent_at, c.message_id, c.receipt)
            .where(or_(*[c.key.startswith(p, autoescape=True) for p in prefixes]))
            .order_by(c.id)
        )
        with self.session_factory() as s:
            return [
                domain.Delivery(
                    key=row.key,
                    claimed_at=row.claimed_at,
                    status=row.status,
                    attempts=row.attempts,
                    sent_at=row.sent_at,
                    message_id=row.message_id,
                    receipt=row.receipt,
                )
                for row in s.execute(stmt)
            ]

    def owed_since(self, prefixes: list[str], since: datetime) -> int:
        # claimed_at is when it was owed, moved on by a claim: a later time, so an email is
        # never counted short (a limit may count one owed a little earlier, never fewer).
        c = orm.deliveries.c
        stmt = (
            select(func.count())
            .select_from(orm.deliveries)
            .where(or_(*(c.key.startswith(p, autoescape=True) for p in prefixes)), c.claimed_at >= since)
        )
        return int(self.owner.session.scalar(stmt) or 0)


class SqlUnitOfWork:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        on_commit: Callable[[list[domain.Event]], None] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.on_commit = on_commit
        self.deliveries = SqlDeliveries(session_factory, self)

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self.session_factory()
        s = self.session
        self.volunteers = SqlRepository(s, domain.Volunteer)
        self.requests = SqlRepository(s, domain.TeamRequest)
        self.matches = SqlRepository(s, domain.Match)
        self.follow_ups = SqlRepository(s, domain.FollowUp)
        self.coordinators = SqlRepository(s, domain.Coordinator)
        self.events = SqlEventLog(s)
        self.terms = SqlRepository(s, domain.Term)
        self.access_tokens = SqlRepository(s, domain.AccessToken)
        self.feedback_forms = SqlRepository(s, domain.FeedbackForm)
        self.feedback_answers = SqlRepository(s, domain.FeedbackAnswer)
        self.digests = SqlRepository(s, domain.Digest)
        self.outreach_events = SqlRepository(s, outreach.OutreachEvent)
        self.meeting_suggestions = SqlRepository(s, outreach.MeetingSuggestion)
        self.team_chats = SqlRepository(s, team_chats.TeamChat)
        self.audit = SqlRepository(s, domain.AuditEntry)
        self.content = SqlContent(s)
        self.reviews = SqlRepository(s, domain.RetentionReview)
        self.retention = SqlRetentionReads(s)
        self.programme_sessions = SqlRepository(s, ProgrammeSession)
        self.bookings = SqlRepository(s, Booking)
        self.payment_accounts = SqlRepository(s, payments.PaymentAccount)
        self.rates = SqlRepository(s, payments.Rate)
        self.activities = SqlRepository(s, payments.Activity)
        self.payment_lines = SqlRepository(s, payments.PaymentLine)
        self.finance_exports = SqlRepository(s, payments.FinanceExport)
        self.calls = SqlRepository(s, calls.Call)
        self.rescores = SqlRescores(s)
        self.matching_reads = SqlMatchingReads(s)
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        # close() rolls back anything not committed (nothing half-stored) without
        # expiring what was read, so use cases can hand their objects back.
        with contextlib.suppress(OperationalError):  # a connection already gone committed nothing
            self.session.close()
        sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if isinstance(exc, IntegrityError | StaleDataError) or (
            isinstance(exc, OperationalError) and sqlstate in RETRYABLE_SQLSTATES
        ):
            # A unique key another transaction took first, a row another one changed or
            # removed under us, or a deadlock / serialization failure the database resolved
            # by aborting us: the domain's word for it (409, safe to try again), never a 500.
            raise Concurrent() from exc
        if isinstance(exc, OperationalError) and (
            sqlstate is None or sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES
        ):
            # The server is down, restarting or unreachable: 503 and try again, never a 500.
            raise Unavailable() from exc

    def commit(self) -> None:
        new_events, self.events.added = self.events.added, []
        self.session.commit()
        if new_events and self.on_commit is not None:
            # Fast path only: if the broker is unreachable the relay publishes later.
            try:
                self.on_commit(new_events)
            except Exception:  # noqa: BLE001
                log.warning("publishing after commit failed; the outbox relay will retry", exc_info=True)

    def rollback(self) -> None:
        self.session.rollback()

    def purge_residue(self) -> None:
        """After an erasure: what was erased must not linger in the store's own files.

        SQLite keeps old page images in its write-ahead log until a checkpoint; a
        TRUNCATE checkpoint writes them back (zeroed, with secure_delete) and empties the
        log. PostgreSQL's old row versions are not files a person can open, and
        autovacuum reclaims them.
        """
        engine = self.session_factory.kw["bind"]
        if engine.dialect.name != "sqlite":
            return
        raw = engine.raw_connection()  # outside any transaction: a checkpoint cannot run inside one
        try:
            busy, _, _ = raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                log.warning("the WAL checkpoint after an erasure was blocked by a reader; it completes later")
        finally:
            raw.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # Deleted and overwritten content is zeroed on disk, not left in free pages.
            cur.execute("PRAGMA secure_delete=ON")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _write_lock_first(conn: Any) -> None:
            # SQLite has no SELECT ... FOR UPDATE: taking the write lock when the
            # transaction begins makes read-check-write use cases (approving the last
            # place, a volunteer's last capacity) run one after the other.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    orm.start_mappers()
    # expire_on_commit=False: use cases return the objects they stored.
    sessions = sessionmaker(engine, expire_on_commit=False)
    orm.track_changes(sessions)
    return sessions
