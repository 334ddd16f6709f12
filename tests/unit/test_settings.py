"""Every setting comes from the environment through ``Settings``, and reaches what it sets."""

from __future__ import annotations

from matcher.config import Settings
from workers.app import make_celery
from workers.schedule import beat_schedule


def test_the_schedule_and_the_broker_follow_their_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {
        "QIMATCH_DATA_DIR": str(tmp_path),
        "QIMATCH_SECRET_KEY": "k",
        "QIMATCH_BROKER_URL": "redis://127.0.0.1:6379/0",
        "QIMATCH_RELAY_SECONDS": "2",
        "QIMATCH_DISPATCH_SECONDS": "30",
        "QIMATCH_ASSIGN_SECONDS": "600",
        "QIMATCH_VISIBILITY_TIMEOUT": "120",
        "QIMATCH_PROXY_HOPS": "1",
        "QIMATCH_RETENTION_MONTHS": "36",
        "QIMATCH_RETENTION_GRACE_DAYS": "14",
        "QIMATCH_RETENTION_SECONDS": "900",
    }
    settings = Settings.from_env(env)
    schedule = beat_schedule(settings)
    assert schedule["relay-outbox"]["schedule"] == 2
    assert schedule["dispatch-follow-ups"]["schedule"] == schedule["sweep-stalled-emails"]["schedule"] == 30
    assert schedule["propose-assignment"]["schedule"] == 600
    assert schedule["dispatch-retention"]["schedule"] == 900
    assert (settings.retention.months, settings.retention.grace_days) == (36, 14)
    assert settings.proxy_hops == 1
    assert make_celery(settings).conf.broker_transport_options["visibility_timeout"] == 120


def test_defaults_without_the_environment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.from_env({"QIMATCH_DATA_DIR": str(tmp_path), "QIMATCH_SECRET_KEY": "k"})
    assert (settings.relay_seconds, settings.dispatch_seconds, settings.assign_seconds) == (5, 60, 900)
    assert (settings.visibility_timeout, settings.proxy_hops) == (3600, 0)
