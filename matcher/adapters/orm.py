"""Tables, and the imperative mapping of the domain's dataclasses onto them.

The domain classes stay plain; this module is the only place that knows they
are stored. Lists of codes and slots are JSON columns: they are read whole and
written whole, and the matcher encodes them into arrays anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    false,
    inspect,
    text,
    true,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, registry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from matcher import calls as calls_domain
from matcher import content as content_domain
from matcher import domain, outreach
from matcher import payments as payments_domain
from matcher import programme_sessions as programme_sessions_domain
from matcher import team_chats as team_chats_domain

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
mapper_registry = registry(metadata=metadata)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


TZ = UTCDateTime()


class change_mark(FunctionElement[int]):  # noqa: N801 - a SQL function, named like one
    """The mark a write leaves on a volunteer's row, so kept populations re-read it.

    PostgreSQL: the writing transaction's id. A transaction that took a lower id can
    commit after a reader saw a higher one, so readers go by the oldest transaction
    still running (``horizon``), never by the highest mark seen. SQLite: one more than
    the highest mark, which is safe because its writers (and here its readers, which
    BEGIN IMMEDIATE) take turns.
    """

    type = BigInteger()
    inherit_cache = True
    name = "change_mark"


@compiles(change_mark, "postgresql")
def _change_mark_pg(element: change_mark, compiler: SQLCompiler, **kw: Any) -> str:
    return "(pg_current_xact_id()::text::bigint)"


@compiles(change_mark, "sqlite")
def _change_mark_sqlite(element: change_mark, compiler: SQLCompiler, **kw: Any) -> str:
    return "(SELECT coalesce(max(v.change_mark), 0) + 1 FROM volunteers AS v)"


terms = Table(
    "terms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("vocabulary", String(40), nullable=False),
    Column("code", String(60), nullable=False),
    Column("label", String(200), nullable=False),
    Column("position", Integer, nullable=False, default=0),
    Column("active", Boolean, nullable=False, default=True),
    UniqueConstraint("vocabulary", "code", name="uq_terms_vocabulary_code"),
)

outreach_events = Table(
    "outreach_events",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("held_on", Date, nullable=False),
    Column("area", String(60), nullable=False, index=True),
    Column("kind", String(30), nullable=False),
    Column("recorded_by", String(32), nullable=False),
    Column("people_reached", Integer),
    Column("notes", Text),
    Column("code", String(20), nullable=False, unique=True),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
)

team_chats = Table(
    "team_chats",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("coordinator_id", String(32), nullable=False, index=True),
    Column("area", String(60), nullable=False, index=True),
    Column("starts_at", TZ, nullable=False, index=True),
    Column("minutes", Integer, nullable=False),
    Column("place", String(500)),
    Column("status", String(20), nullable=False),
    Column("team_request_id", String(32), index=True),
    Column("team_name", String(200)),
    Column("contact_name", String(200)),
    Column("contact_email", String(320)),
    Column("about", Text),
    Column("booked_at", TZ),
    Column("invite_sequence", Integer, nullable=False, default=0),
    Column("created_at", TZ, nullable=False),
)

meeting_suggestions = Table(
    "meeting_suggestions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("meeting", String(200), nullable=False),
    Column("area", String(60), nullable=False, index=True),
    Column("details", Text, nullable=False),
    Column("why", Text),
    Column("contact_email", String(320)),
    Column("created_at", TZ, nullable=False),
    Column("handled_at", TZ),
    Column("handled_by", String(32)),
)

volunteers = Table(
    "volunteers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False, index=True),
    Column("phone", String(40)),
    Column("kind", String(20), nullable=False),
    Column("home_area", String(60), nullable=False, index=True),
    Column("status", String(20), nullable=False, index=True),
    Column("roles", JSON, nullable=False),
    Column("modes", JSON, nullable=False),
    Column("availability", JSON, nullable=False),
    Column("max_commitments", Integer, nullable=False),
    Column("consent_version", String(40), nullable=False),
    Column("consent_given_at", TZ, nullable=False),
    Column("preferred_contact", String(10), nullable=False),
    Column("travel_areas", JSON, nullable=False),
    Column("experience", JSON, nullable=False),
    Column("interests", JSON, nullable=False),
    Column("languages", JSON, nullable=False),
    Column("trainings", JSON, nullable=False),
    Column("access_needs", Text),
    Column("exclusions", Text),
    Column("excluded_teams", JSON, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Column("email_key", String(320)),
    Column("paused_until", Date),  # the last day of a pause "until a date"; none: until resumed
    Column("erased_at", TZ),
    Column("source_event_id", String(32), ForeignKey("outreach_events.id"), index=True),
    Column("consent_assisted_by", String(32)),  # the coordinator who took consent in person
    # When and by whom the address was shown to be theirs (migration 0013): "link", "not_asked",
    # or the id of the coordinator who entered the offer. Unconfirmed offers have neither.
    Column("email_confirmed_at", TZ),
    Column("email_confirmed_by", String(32)),
    # Set by every insert and update of the row (and by hand when their standing changes,
    # see mark_standing_changes): what a worker's kept population reads to catch up.
    Column("change_mark", BigInteger, index=True, default=change_mark(), onupdate=change_mark()),
    # One live offer per address (migration 0005): someone who withdrew may sign up afresh.
    Index(
        "uq_volunteers_live_email_key",
        "email_key",
        unique=True,
        postgresql_where=text("status <> 'withdrawn'"),
        sqlite_where=text("status <> 'withdrawn'"),
    ),
)

team_requests = Table(
    "team_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("team_name", String(200), nullable=False),
    Column("project_title", String(300), nullable=False),
    Column("area", String(60), nullable=False, index=True),
    Column("qi_stage", String(40), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("roles", JSON, nullable=False),
    Column("modes", JSON, nullable=False),
    Column("contact_name", String(200), nullable=False),
    Column("contact_email", String(320), nullable=False),
    Column("aim", Text),
    Column("topics", JSON, nullable=False),
    Column("experience_sought", JSON, nullable=False),
    Column("meeting_slots", JSON, nullable=False),
    Column("languages", JSON, nullable=False),
    Column("required_trainings", JSON, nullable=False),
    Column("start_date", Date),
    Column("hours_per_month", Integer),
    Column("duration_weeks", Integer),
    Column("notes", Text),
    Column("venue", String(300)),
    Column("video_link", String(500)),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Column("contact_email_key", String(320), index=True),
    Column("contact_erased_at", TZ),  # closed longer than the retention period: contact anonymised
)

matches = Table(
    "matches",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("team_request_id", ForeignKey("team_requests.id"), nullable=False),
    Column("volunteer_id", ForeignKey("volunteers.id"), nullable=False, index=True),
    Column("role", String(60), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("origin", String(20), nullable=False),
    Column("proposed", Boolean, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("factors", JSON, nullable=False),
    Column("reject_reason", Text),
    Column("close_reason", Text),  # a coordinator's words: on the match, which erasure clears
    Column("decided_by", String(32)),
    Column("intro_at", TZ),
    Column("venue", String(300)),
    Column("video_link", String(500)),
    Column("invite_sequence", Integer, nullable=False, default=0, server_default="0"),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    # Rule 9 held by the database too: one match per volunteer per request.
    UniqueConstraint("team_request_id", "volunteer_id", name="uq_matches_request_volunteer"),
)

follow_ups = Table(
    "follow_ups",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("match_id", ForeignKey("matches.id"), nullable=False, index=True),
    Column("sequence", Integer, nullable=False),
    Column("due_at", TZ, nullable=False, index=True),
    Column("status", String(20), nullable=False, index=True),
    Column("invited_at", TZ),
    Column("reminded_at", TZ),
    Column("created_at", TZ, nullable=False),
    Column("feedback_at", TZ),  # both feedback forms owed, once the chat's time had passed
    UniqueConstraint("match_id", "sequence", name="uq_follow_ups_match_sequence"),
)

coordinators = Table(
    "coordinators",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200)),
    Column("password_hash", String(200), nullable=False),
    Column("areas", JSON, nullable=False),
    Column("admin", Boolean, nullable=False, default=False, server_default=false()),
    Column("created_at", TZ, nullable=False),
    # "HH:MM" London time of their daily digest; NULL: turned off.
    Column("digest_time", String(5), default="08:00", server_default="08:00"),
    Column("totp_secret", String(64)),
    Column("totp_last_step", BigInteger),
    Column("active", Boolean, nullable=False, default=True, server_default=true()),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(60), nullable=False),
    Column("occurred_at", TZ, nullable=False),
    Column("team_request_id", String(32), index=True),
    Column("volunteer_id", String(32), index=True),
    Column("match_id", String(32), index=True),
    Column("follow_up_id", String(32)),
    Column("data", JSON, nullable=False),
    Column("published_at", TZ),
    # The request id its logs carry (matcher.adapters.log_lines): the relay publishes it with the event.
    Column("request_id", String(64)),
    Index("ix_events_unpublished", "published_at", "id"),
)

# When each queue's canary task (beat, every minute) and each worker's own canary last
# completed: what readiness and ``qimatch worker-health`` read. Names are queue and node names.
heartbeats = Table(
    "heartbeats",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("completed_at", TZ, nullable=False),
)

# The rescores due: a row per event that asked for one, in that event's transaction;
# workers take many at once (SKIP LOCKED) and delete them in the transaction that
# stores the new suggestions, so a dead worker leaves them for the next.
rescores_due = Table(
    "rescores_due",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(20), nullable=False),
    Column("subject_id", String(32), nullable=False),
    Column("event_kind", String(60), nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The claim: a second INSERT with the same key fails, so only one sender wins.
    Column("key", String(200), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("claimed_at", TZ, nullable=False),
    Column("sent_at", TZ),
    # An email's Message-ID (from its key); a text's GOV.UK Notify notification id.
    Column("message_id", String(200), index=True),
    # A text's delivery receipt from Notify: delivered, permanent-failure, temporary-failure, ...
    Column("receipt", String(30)),
    Column("receipt_at", TZ),
    # Which worker's attempt holds the claim: only it may hand the email over.
    Column("owner", String(120)),
    # Recorded just before the point of no return (SMTP's final dot).
    Column("handed_at", TZ),
    # When the sweep last queued it again: a backlog is not queued again and again.
    Column("requeued_at", TZ),
)

# Retention's dispatcher rows: a volunteer asked whether to keep their details, erased at
# due_at unless they answer. One open review per volunteer, held by the database too, so two
# dispatcher runs at once ask once.
retention_reviews = Table(
    "retention_reviews",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("volunteer_id", String(32), nullable=False, index=True),
    Column("status", String(20), nullable=False, index=True),
    Column("asked_at", TZ, nullable=False),
    Column("due_at", TZ, nullable=False),
    Column("kept_because", String(20)),
    Column("answered_at", TZ),
    Column("erasing_since", TZ),
    Column("erased_at", TZ),
    Index(
        "uq_retention_reviews_open",
        "volunteer_id",
        unique=True,
        postgresql_where=text("status IN ('asked', 'erasing')"),
        sqlite_where=text("status IN ('asked', 'erasing')"),
    ),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("purpose", String(40), nullable=False),
    Column("subject_id", String(32), nullable=False, index=True),
    Column("created_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
    Column("used_at", TZ),
    Column("last_seen_at", TZ),
    Column("label", String(100)),
)

# Who did what (coordinators' actions, sign-ins): ids and codes only, see domain.AuditEntry.
audit_entries = Table(
    "audit_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TZ, nullable=False, index=True),
    Column("coordinator_id", String(32), index=True),
    Column("action", String(40), nullable=False, index=True),
    Column("subject_kind", String(20), nullable=False),
    Column("subject_id", String(200)),
    Column("details", JSON, nullable=False),
    Column("attempted_email", String(320)),
    Index("ix_audit_entries_subject", "subject_kind", "subject_id"),
)

# One side's feedback form after one follow-up chat (and the due row of its one reminder).
feedback_forms = Table(
    "feedback_forms",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("follow_up_id", ForeignKey("follow_ups.id"), nullable=False),
    Column("match_id", ForeignKey("matches.id"), nullable=False, index=True),
    Column("party", String(20), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("asked_at", TZ, nullable=False),
    Column("remind_at", TZ, nullable=False, index=True),
    Column("reminded_at", TZ),
    Column("answered_at", TZ),
    UniqueConstraint("follow_up_id", "party", name="uq_feedback_forms_follow_up_party"),
)

# What one side answered. The unique form_id makes a form answered once, even when two
# submissions race: the second INSERT fails and is answered politely.
feedback_answers = Table(
    "feedback_answers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("form_id", ForeignKey("feedback_forms.id"), nullable=False, unique=True),
    Column("match_id", ForeignKey("matches.id"), nullable=False, index=True),
    Column("party", String(20), nullable=False),
    Column("rating", Integer, nullable=False),
    Column("wants_call", Boolean, nullable=False),
    Column("wants_stop", Boolean, nullable=False),
    Column("note", Text),  # their own words: erasure clears them
    Column("answered_at", TZ, nullable=False, index=True),
    Column("handled_at", TZ),
    Column("handled_by", String(32)),
)

# A coordinator's digest for one London day: created ahead, claimed once when due.
digests = Table(
    "digests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("coordinator_id", ForeignKey("coordinators.id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("due_at", TZ, nullable=False, index=True),
    Column("since", TZ, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("done_at", TZ),
    UniqueConstraint("coordinator_id", "day", name="uq_digests_coordinator_day"),
)

# The programme's own words (matcher.content): one row per saved version, never updated.
content_versions = Table(
    "content_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(80), nullable=False),
    Column("body", Text, nullable=False),
    Column("by", String(32)),
    Column("at", TZ, nullable=False),
    Column("reverted_from", Integer),
    Index("ix_content_versions_key_id", "key", "id"),
)

# The programme's sessions (matcher.programme_sessions): introductory sessions and training.
programme_sessions = Table(
    "programme_sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("title", String(200)),
    Column("area", String(60), nullable=False, index=True),
    Column("starts_at", TZ, nullable=False, index=True),
    Column("ends_at", TZ, nullable=False),
    Column("venue", String(300)),
    Column("video_link", String(500)),
    Column("capacity", Integer, nullable=False),
    Column("training", String(60)),
    Column("status", String(20), nullable=False),
    Column("created_by", String(32), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
)

session_bookings = Table(
    "session_bookings",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("session_id", ForeignKey("programme_sessions.id"), nullable=False),
    Column("volunteer_id", ForeignKey("volunteers.id"), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("queued_at", TZ),
    Column("from_waiting_list", Boolean, nullable=False, default=False),
    Column("sequence", Integer, nullable=False, default=0),
    Column("remind_at", TZ),
    # due | sent | none: the reminder dispatcher claims "due" rows under their lock.
    Column("reminder", String(10), nullable=False, index=True),
    Column("attended", Boolean),
    Column("attendance_by", String(32)),
    Column("attendance_on", Date),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    # One booking per person and session: booking again revives the same row.
    UniqueConstraint("session_id", "volunteer_id", name="uq_session_bookings_session_volunteer"),
)

# Calls a coordinator owes a volunteer (matcher.calls): one per volunteer, reason and subject.
calls = Table(
    "calls",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("volunteer_id", ForeignKey("volunteers.id"), nullable=False, index=True),
    Column("reason", String(30), nullable=False),
    Column("subject_kind", String(30), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("match_id", ForeignKey("matches.id"), index=True),
    Column("owed_at", TZ, nullable=False, index=True),
    Column("called_at", TZ, index=True),
    Column("called_by", String(32)),
    Column("note", Text),  # the coordinator's words about the call: erasure clears them
    UniqueConstraint("volunteer_id", "reason", "subject_id", name="uq_calls_volunteer_reason_subject"),
)

_mapped = False


# Involvement payments (matcher.payments): money in integer pence, never floats.
payment_accounts = Table(
    "payment_accounts",
    metadata,
    Column("id", ForeignKey("volunteers.id"), primary_key=True),  # the volunteer's id: one account each
    Column("preference", String(20), nullable=False),
    Column("cap_week_pence", Integer),
    Column("cap_four_weeks_pence", Integer),
    Column("cap_tax_year_pence", Integer),
    Column("four_weeks_from", Date),
    Column("updated_at", TZ),
    Column("updated_by", String(32)),
)

payment_rates = Table(
    "payment_rates",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("activity_type", String(40), nullable=False),
    Column("pence", Integer, nullable=False),
    Column("basis", String(20), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("created_by", String(32), nullable=False),
    Column("created_at", TZ, nullable=False),
    # One rate per type and day: which rate was in force is never ambiguous.
    UniqueConstraint("activity_type", "effective_from", name="uq_payment_rates_type_from"),
)

activities = Table(
    "activities",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("volunteer_id", ForeignKey("volunteers.id"), nullable=False, index=True),
    Column("area", String(60), nullable=False, index=True),
    Column("on", Date, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("activity_type", String(40), nullable=False),
    Column("source", String(20), nullable=False),
    Column("recorded_by", String(32), nullable=False),
    Column("match_id", String(32)),
    Column("session_id", String(32)),
    Column("created_at", TZ, nullable=False),
)

finance_exports = Table(
    "finance_exports",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("month", String(7), nullable=False, index=True),
    Column("areas", JSON, nullable=False),
    Column("made_by", String(32), nullable=False),
    Column("made_at", TZ, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("total_pence", Integer, nullable=False),
)

payment_lines = Table(
    "payment_lines",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("volunteer_id", ForeignKey("volunteers.id"), nullable=False, index=True),
    Column("area", String(60), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("on", Date, nullable=False, index=True),
    Column("pence", Integer, nullable=False),
    Column("method", String(20), nullable=False),
    # One line per activity: an activity is never paid twice.
    Column("activity_id", ForeignKey("activities.id"), unique=True),
    Column("activity_type", String(40)),
    Column("minutes", Integer),
    Column("rate_id", String(32)),
    Column("rate_pence", Integer),
    Column("rate_basis", String(20)),
    Column("description", String(300)),
    Column("receipt_held", Boolean),
    Column("status", String(20), nullable=False, index=True),
    Column("hold_reason", String(20)),
    Column("over_by_pence", Integer),
    Column("first_approved_by", String(32)),
    Column("approved_by", String(32)),
    Column("approved_at", TZ),
    # A line is in at most one export: the column holds one id, set once under the line's lock.
    Column("export_id", ForeignKey("finance_exports.id"), index=True),
    Column("payee_name", String(200)),
    Column("created_at", TZ, nullable=False),
)


def start_mappers() -> None:
    global _mapped
    if _mapped:
        return
    _mapped = True
    for cls, table in (
        (domain.Term, terms),
        (domain.Volunteer, volunteers),
        (domain.TeamRequest, team_requests),
        (domain.Match, matches),
        (domain.FollowUp, follow_ups),
        (domain.Coordinator, coordinators),
        (domain.Event, events),
        (domain.Delivery, deliveries),
        (domain.AccessToken, access_tokens),
        (domain.FeedbackForm, feedback_forms),
        (domain.FeedbackAnswer, feedback_answers),
        (domain.Digest, digests),
        (outreach.OutreachEvent, outreach_events),
        (outreach.MeetingSuggestion, meeting_suggestions),
        (team_chats_domain.TeamChat, team_chats),
        (domain.AuditEntry, audit_entries),
        (content_domain.ContentVersion, content_versions),
        (domain.RetentionReview, retention_reviews),
        (programme_sessions_domain.ProgrammeSession, programme_sessions),
        (programme_sessions_domain.Booking, session_bookings),
        (payments_domain.PaymentAccount, payment_accounts),
        (payments_domain.Rate, payment_rates),
        (payments_domain.Activity, activities),
        (payments_domain.PaymentLine, payment_lines),
        (payments_domain.FinanceExport, finance_exports),
        (calls_domain.Call, calls),
    ):
        # change_mark is bookkeeping for kept populations, not part of the domain.
        mapper_registry.map_imperatively(cls, table, exclude_properties=["change_mark"])


def mark_standing_changes(session: Session, _flush: Any) -> None:
    """After a flush: mark the volunteers whose standing the flush changed.

    A volunteer's standing (commitments held, involvements, decided matches, the meeting
    times they are committed to) lives on their matches, not on their row: an approval,
    rejection, close or withdrawal changes it without touching the volunteer. Any match
    written that is or was more than a suggestion marks its volunteer; rescores, which
    only write suggestions, mark nobody (or every event would re-read whole requests'
    worth of people).
    """
    marked: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, domain.Match):
            continue
        was = inspect(obj).attrs.status.history.deleted or ()
        if {obj.status, *was} != {domain.MatchStatus.SUGGESTED}:
            marked.add(obj.volunteer_id)
    if marked:
        session.connection().execute(
            update(volunteers).where(volunteers.c.id.in_(sorted(marked))).values(change_mark=change_mark())
        )


def track_changes(sessions: Any) -> None:
    """Have every session ``sessions`` makes mark standing changes (see mark_standing_changes)."""
    if not event.contains(sessions, "after_flush", mark_standing_changes):
        event.listen(sessions, "after_flush", mark_standing_changes)
