"""Coordinators for tests that sign in with the second factor: made, enrolled, and their codes."""

from __future__ import annotations

from dataclasses import replace

import pyotp
from flask import Flask
from sqlalchemy import text

from matcher.bootstrap import Services
from matcher.services import coordinators, outgoing
from tests.fakes import FakeMailer
from web.app import create_app

PASSWORD = "a long passphrase"


def with_totp(services: Services, required: bool = True) -> Services:
    return replace(services, settings=replace(services.settings, require_totp=required))


def totp_app(services: Services, **config: object) -> Flask:
    """The app with TOTP required, as a deployment has it by default."""
    test_config = {"TESTING": True, "SUBMISSION_RATE_LIMIT": "10000 per minute", **config}
    return create_app(services_=with_totp(services), test_config=test_config)


def enrolled(
    services: Services, email: str, areas: list[str] | None = None, admin: bool = False, password: str = PASSWORD
) -> tuple[str, list[str]]:
    """A coordinator as ``qimatch create-coordinator`` makes one: (TOTP secret, recovery codes)."""
    coordinators.create_coordinator(
        services.uow(), email, password, areas or ["tower_hamlets"], services.clock, admin=admin
    )
    uri, codes = coordinators.enrol(services.uow(), email, services.clock, fresh_secret=False)
    return pyotp.parse_uri(uri).secret, codes


def code(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def send_owed_coordinator_emails(services: Services) -> FakeMailer:
    """What the worker does with the owed invitation and reset emails; the emails it sent."""
    mailer = FakeMailer()
    assert services.engine is not None
    with services.engine.connect() as conn:
        keys = conn.execute(text("SELECT key FROM deliveries WHERE key LIKE 'coordinator_link%' AND sent_at IS NULL"))
        owed = [k for (k,) in keys]
    for key in owed:
        outgoing.send_owed(
            services.uow(), mailer, services.letters, key, services.clock, services.settings.matching, 60
        )
    return mailer


def link_in(email_text: str) -> str:
    """The path of the emailed set-password link."""
    return "/coordinator/password/" + email_text.split("/coordinator/password/")[1].split()[0]
