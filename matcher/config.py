"""Settings: defaults, then environment variables, then what a test passes in.

Matching weights and the rules that are policy rather than law (which roles need
which training, when follow-up chats happen) are configuration, so a programme
can change them without a code change: ``QIMATCH_MATCHING_CONFIG`` may name a
JSON file whose keys override ``MatchingConfig``'s defaults.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_WEIGHTS: dict[str, float] = {
    # Each factor contributes between 0 and its weight; the score is their sum.
    "availability": 0.25,
    "place": 0.10,
    "experience": 0.20,
    "topics": 0.10,
    "language": 0.05,
    "role_preference": 0.05,
    "stage_readiness": 0.05,
    "fairness": 0.20,
}


@dataclass(frozen=True)
class MatchingConfig:
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    # Roles that need the QI introduction before anyone is suggested for them.
    role_trainings: dict[str, list[str]] = field(
        default_factory=lambda: {
            "project_team_member": ["qi_introduction"],
            "training_cofacilitator": ["qi_introduction"],
        }
    )
    # Matching rule 6 (a training a role or request requires): by default only trainings a
    # coordinator verified (attendance at a session that confers them) pass it; a training the
    # volunteer only declared is shown as unverified. True lets declared trainings pass too.
    declared_trainings_count: bool = False
    alternates_per_request: int = 5
    # Scoring policy (matcher.scoring and the engine's vectorised copy use these same values).
    # A request with flexible timing gives full availability marks at this many free hours a week.
    flexible_hours_for_full_fit: float = 6.0
    # The share of the fairness factor that rewards waiting; the rest rewards little involvement.
    waiting_share: float = 0.25
    # Days of waiting (since registering or since the last involvement ended) for the full waiting share.
    waiting_days_for_full_lift: float = 180.0
    # Engine shortlists, before the solve: each open request-role keeps its best
    # ``shortlist_per_place`` candidates per open place plus ``shortlist_margin`` (which also
    # feeds the ranked alternates); each volunteer keeps their best ``shortlist_per_volunteer``
    # request-roles. They change speed only: the engine's proofs widen any shortlist that
    # would cost a place or score.
    shortlist_per_place: int = 8
    shortlist_margin: int = 40
    shortlist_per_volunteer: int = 1
    follow_up_weeks: tuple[int, ...] = (2, 8)
    # The informal introductory chat is offered this many days after approval.
    intro_after_days: int = 7
    intro_minutes: int = 30
    # Follow-up invitations go out this long before the chat; reminders a day before.
    invite_lead_days: int = 7
    reminder_lead_hours: int = 24
    # Feedback after each follow-up chat: both sides' forms go this long after it starts;
    # one reminder this many days later if unanswered; each emailed link works this long.
    feedback_after_minutes: int = 60
    feedback_reminder_days: int = 3
    feedback_link_days: int = 30
    # The coordinators' daily digest lists suggestions waiting longer than this for a decision.
    digest_pending_days: int = 3

    @classmethod
    def from_file(cls, path: str | os.PathLike[str] | None) -> MatchingConfig:
        base = cls()
        if not path:
            return base
        data: dict[str, Any] = json.loads(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown matching settings: {', '.join(sorted(unknown))}")
        if "weights" in data:
            data["weights"] = {**base.weights, **data["weights"]}
        if "follow_up_weeks" in data:
            data["follow_up_weeks"] = tuple(data["follow_up_weeks"])
        for name in _FLOAT_SETTINGS & set(data):
            data[name] = float(data[name])
        for name in _INT_SETTINGS & set(data):
            data[name] = int(data[name])
        return replace(base, **data)


_FLOAT_SETTINGS = {"flexible_hours_for_full_fit", "waiting_share", "waiting_days_for_full_lift"}
_INT_SETTINGS = {
    "shortlist_per_place",
    "shortlist_margin",
    "shortlist_per_volunteer",
    "feedback_after_minutes",
    "feedback_reminder_days",
    "feedback_link_days",
    "digest_pending_days",
}


@dataclass(frozen=True)
class RetentionPolicy:
    """How long the details of people who are no longer active are kept (docs/privacy.md).

    ``months`` without activity, then they are asked by email and erased ``grace_days``
    later unless they answer; 0 months turns retention off. ``batch``: people asked, and
    erased, per dispatcher run, so a first run on an old database spreads its emails.
    """

    months: int = 24
    grace_days: int = 30
    batch: int = 200

    @property
    def enabled(self) -> bool:
        return self.months > 0


@dataclass(frozen=True)
class Settings:
    database_url: str
    broker_url: str
    smtp_url: str | None
    secret_key: str
    base_url: str
    data_dir: Path
    mail_from: str = "qimatch <involvement@qimatch.local>"
    template_dir: Path | None = None
    # How long a claimed-but-unsent email stays claimed before another try may take it.
    delivery_lease_seconds: int = 120
    # The sending task's hard limit sits below the lease, so a stuck send is killed before
    # another worker may take its email; each SMTP step's timeout sits below the limit.
    email_task_seconds: int = 90
    smtp_timeout: float = 30.0
    token_hours: int = 12
    matching: MatchingConfig = field(default_factory=MatchingConfig)
    # Redis: seconds before an unacknowledged task is delivered again.
    visibility_timeout: int = 3600
    # How often beat runs the outbox relay, the follow-up dispatcher and email sweep, the whole-programme solve.
    relay_seconds: float = 5.0
    dispatch_seconds: float = 60.0
    assign_seconds: float = 900.0
    # Behind a reverse proxy: how many proxies' X-Forwarded-* headers to trust.
    proxy_hops: int = 0
    # Rescores due taken into one engine run, and how often beat drains what no message woke.
    rescore_batch: int = 200
    rescore_sweep_seconds: float = 30.0
    # Submissions (offers, requests) and sign-in tries allowed, in flask-limiter's words. Counted per
    # account for signed-in coordinators and API tokens, else per client address.
    submission_rate_limit: str = "60 per minute"
    sign_in_rate_limit: str = "10 per minute"
    # Failed sign-ins allowed per account (email), whichever address they come from: a guesser
    # spreading tries over many addresses still meets this one.
    sign_in_account_rate_limit: str = "5 per minute;20 per hour"
    # Coordinators sign in with a password and a one-time code from an authenticator app (TOTP).
    # Off only for a trust whose sign-in sits behind its own single sign-on with a second factor.
    require_totp: bool = True
    # The relay leaves an unpublished event alone this long: the web published it at commit and
    # its mark is on the way (marked in bulk, off the request path). Only a lost publish or a
    # lost mark waits this long; a lost mark means one harmless second publish.
    relay_grace_seconds: float = 10.0
    # How often each process marks the events it published, in one UPDATE.
    mark_published_seconds: float = 0.5
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    # How often beat runs the retention dispatcher (questions owed, erasures due).
    retention_seconds: float = 3600.0
    # A payment line over this many pence needs a second coordinator's approval.
    payment_second_approval_pence: int = 10000
    # An anonymous offer is matchable only once its email address is confirmed through the
    # private link (offers entered by a signed-in coordinator or API client count as
    # confirmed). Off: every offer is matchable at once, as before.
    confirm_emails: bool = True
    # Beat sends a canary task to each queue this often; /healthz/ready fails when a queue's
    # canary has not completed for heartbeat_minutes (a worker alive but not consuming).
    canary_seconds: float = 60.0
    heartbeat_minutes: float = 5.0
    # Log lines as JSON (one object a line, for a log shipper) or text (people).
    log_format: str = "text"
    # /metrics wants this as a bearer token; unset, it answers only this machine (127.0.0.1, ::1).
    metrics_token: str | None = None
    # Texts go through GOV.UK Notify when its API key is set (else into $QIMATCH_DATA_DIR/sms):
    # the base URL (a local test server in tests), the template whose content is ((body)),
    # and the bearer token Notify sends with its delivery receipts.
    notify_api_key: str | None = None
    notify_base_url: str = "https://api.notifications.service.gov.uk"
    notify_sms_template_id: str | None = None
    notify_callback_token: str | None = None

    def __post_init__(self) -> None:
        if not self.smtp_timeout < self.email_task_seconds < self.delivery_lease_seconds:
            raise ValueError(
                "QIMATCH_SMTP_TIMEOUT < QIMATCH_EMAIL_TASK_SECONDS < QIMATCH_DELIVERY_LEASE_SECONDS must hold"
                f" (they are {self.smtp_timeout}, {self.email_task_seconds}, {self.delivery_lease_seconds}):"
                " a send must end before its lease does, or a second worker could send the same email"
            )
        if self.notify_api_key and not self.notify_sms_template_id:
            raise ValueError(
                "QIMATCH_NOTIFY_API_KEY is set but QIMATCH_NOTIFY_SMS_TEMPLATE_ID is not: Notify sends texts"
                " only through a template (one whose whole content is ((body)))"
            )
        if self.log_format not in ("json", "text"):
            raise ValueError(f"QIMATCH_LOG_FORMAT must be json or text, not {self.log_format!r}")

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def sms_dir(self) -> Path:
        return self.data_dir / "sms"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("QIMATCH_DATA_DIR") or Path.cwd() / "data").resolve()
        template_dir = env.get("QIMATCH_TEMPLATE_DIR")
        values: dict[str, Any] = dict(
            database_url=env.get("QIMATCH_DATABASE_URL") or f"sqlite:///{data_dir / 'qimatch.sqlite'}",
            # kombu's filesystem transport (messages as files under the data folder):
            # a broker with no server to install, for one machine.
            broker_url=env.get("QIMATCH_BROKER_URL") or "filesystem://",
            smtp_url=env.get("QIMATCH_SMTP_URL") or None,
            secret_key=env.get("QIMATCH_SECRET_KEY") or _local_secret(data_dir),
            base_url=(env.get("QIMATCH_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
            data_dir=data_dir,
            template_dir=Path(template_dir) if template_dir else None,
            delivery_lease_seconds=int(env.get("QIMATCH_DELIVERY_LEASE_SECONDS") or 120),
            email_task_seconds=int(env.get("QIMATCH_EMAIL_TASK_SECONDS") or 90),
            smtp_timeout=float(env.get("QIMATCH_SMTP_TIMEOUT") or 30),
            matching=matching_from_env(env),
            visibility_timeout=int(env.get("QIMATCH_VISIBILITY_TIMEOUT") or 3600),
            relay_seconds=float(env.get("QIMATCH_RELAY_SECONDS") or 5),
            dispatch_seconds=float(env.get("QIMATCH_DISPATCH_SECONDS") or 60),
            assign_seconds=float(env.get("QIMATCH_ASSIGN_SECONDS") or 900),
            proxy_hops=int(env.get("QIMATCH_PROXY_HOPS") or 0),
            rescore_batch=int(env.get("QIMATCH_RESCORE_BATCH") or 200),
            rescore_sweep_seconds=float(env.get("QIMATCH_RESCORE_SWEEP_SECONDS") or 30),
            submission_rate_limit=env.get("QIMATCH_SUBMISSION_RATE_LIMIT") or "60 per minute",
            sign_in_rate_limit=env.get("QIMATCH_SIGN_IN_RATE_LIMIT") or "10 per minute",
            sign_in_account_rate_limit=env.get("QIMATCH_SIGN_IN_ACCOUNT_RATE_LIMIT") or "5 per minute;20 per hour",
            require_totp=_flag(env.get("QIMATCH_REQUIRE_TOTP"), default=True),
            relay_grace_seconds=float(env.get("QIMATCH_RELAY_GRACE_SECONDS") or 10),
            mark_published_seconds=float(env.get("QIMATCH_MARK_PUBLISHED_SECONDS") or 0.5),
            retention=RetentionPolicy(
                months=int(env.get("QIMATCH_RETENTION_MONTHS") or 24),
                grace_days=int(env.get("QIMATCH_RETENTION_GRACE_DAYS") or 30),
                batch=int(env.get("QIMATCH_RETENTION_BATCH") or 200),
            ),
            retention_seconds=float(env.get("QIMATCH_RETENTION_SECONDS") or 3600),
            payment_second_approval_pence=int(env.get("QIMATCH_PAYMENT_SECOND_APPROVAL_PENCE") or 10000),
            confirm_emails=_flag(env.get("QIMATCH_CONFIRM_EMAILS"), default=True),
            canary_seconds=float(env.get("QIMATCH_CANARY_SECONDS") or 60),
            heartbeat_minutes=float(env.get("QIMATCH_HEARTBEAT_MINUTES") or 5),
            log_format=(env.get("QIMATCH_LOG_FORMAT") or "text").strip().lower(),
            metrics_token=env.get("QIMATCH_METRICS_TOKEN") or None,
            notify_api_key=env.get("QIMATCH_NOTIFY_API_KEY") or None,
            notify_base_url=(env.get("QIMATCH_NOTIFY_BASE_URL") or "https://api.notifications.service.gov.uk").rstrip(
                "/"
            ),
            notify_sms_template_id=env.get("QIMATCH_NOTIFY_SMS_TEMPLATE_ID") or None,
            notify_callback_token=env.get("QIMATCH_NOTIFY_CALLBACK_TOKEN") or None,
        )
        values.update(overrides)
        return cls(**values)


def _flag(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, not {value!r}")


def matching_from_env(env: dict[str, str] | None = None) -> MatchingConfig:
    """Only the matching settings (``QIMATCH_MATCHING_CONFIG``): what an offline batch needs."""
    env = dict(os.environ if env is None else env)
    config = MatchingConfig.from_file(env.get("QIMATCH_MATCHING_CONFIG"))
    declared = env.get("QIMATCH_DECLARED_TRAINING_COUNTS")
    if declared:  # the environment wins over the file, as everywhere else
        try:
            counts = _flag(declared, default=False)
        except ValueError:
            raise ValueError(f"QIMATCH_DECLARED_TRAINING_COUNTS must be true or false, not {declared!r}") from None
        config = replace(config, declared_trainings_count=counts)
    return config


def _local_secret(data_dir: Path) -> str:
    # The embedded default keeps a random key beside its data, so sessions and
    # tokens survive a restart without anyone having to choose a secret.
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    import secrets

    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
