"""The composition root: the one place that picks the real adapters.

The web app and the Celery workers both start here, so they share one idea of
the database, the mailer and the clock. Tests build ``Services`` with fakes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from matcher.adapters import migrate, private_files
from matcher.adapters.clock import SystemClock
from matcher.adapters.letters import TemplateLetters
from matcher.adapters.mailers import FolderMailer, SmtpMailer
from matcher.adapters.store import SqlUnitOfWork, make_engine, session_factory
from matcher.adapters.texters import FolderTexter, NotifyTexter
from matcher.config import Settings
from matcher.content import EMAIL_PREFIX
from matcher.ports import Clock, Letters, Mailer, Publisher, Texter, UnitOfWork
from matcher.services import queries
from matcher.services.population import KeptVolunteers


@dataclass
class Services:
    settings: Settings
    uow_factory: Any
    clock: Clock
    mailer: Mailer
    letters: Letters
    texter: Texter | None = None  # None: built from the settings (Notify, or the sms folder)
    engine: Engine | None = None
    # This process's own encoded copy of the active volunteers (workers rescore against it).
    population: KeptVolunteers = field(default_factory=KeptVolunteers)

    def uow(self) -> UnitOfWork:
        """A fresh unit of work for one use case (not shared between threads)."""
        uow: UnitOfWork = self.uow_factory()
        return uow

    def __post_init__(self) -> None:
        if self.texter is None:
            self.texter = texter_for(self.settings)

    @property
    def texts(self) -> Texter:
        assert self.texter is not None
        return self.texter


def texter_for(settings: Settings) -> Texter:
    """GOV.UK Notify when its API key is set; else the embedded default's folder."""
    if settings.notify_api_key:
        assert settings.notify_sms_template_id is not None  # Settings refuses a key without one
        return NotifyTexter(
            settings.notify_api_key,
            settings.notify_sms_template_id,
            settings.notify_base_url,
            timeout=settings.smtp_timeout,  # the same bound as a mail server's, below the task's limit
        )
    return FolderTexter(settings.sms_dir)


def bootstrap(
    settings: Settings | None = None,
    publisher: Publisher | None = None,
    *,
    migrate_database: bool = False,
    mailer: Mailer | None = None,
    texter: Texter | None = None,
    clock: Clock | None = None,
) -> Services:
    settings = settings or Settings.from_env()
    # The data folder holds the embedded database, the mail folder and the broker's files.
    private_files.keep_private(settings.data_dir)
    engine = make_engine(settings.database_url)
    if migrate_database:
        migrate.upgrade(engine)
    sessions = session_factory(engine)

    def uow_factory() -> SqlUnitOfWork:
        return SqlUnitOfWork(sessions, on_commit=publisher)

    def role_labels() -> dict[str, str]:
        with uow_factory() as uow:
            return {t.code: t.label for t in uow.terms.where(vocabulary="roles", order_by="position")}

    def edited_template(name: str) -> str | None:
        # Read at every letter: a coordinator's edit is in the next email, in every worker.
        uow: UnitOfWork = uow_factory()  # type: ignore[assignment]  # the port, as Services.uow hands it out
        return queries.content_in_force(uow, f"{EMAIL_PREFIX}{name}")

    if mailer is None:
        mailer = (
            SmtpMailer(settings.smtp_url, settings.mail_from, timeout=settings.smtp_timeout)
            if settings.smtp_url
            else FolderMailer(settings.mail_dir, settings.mail_from)
        )
    clock = clock or SystemClock()
    return Services(
        settings=settings,
        uow_factory=uow_factory,
        clock=clock,
        mailer=mailer,
        letters=TemplateLetters(settings, role_labels, clock, edited_template),
        texter=texter,
        engine=engine,
    )


__all__ = ["Services", "bootstrap"]
