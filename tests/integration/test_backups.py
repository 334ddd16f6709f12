"""``qimatch backup`` and ``qimatch restore``, as an operator runs them: a restored
backup holds the same people, for the embedded default (SQLite and the data folder)
and for PostgreSQL (pg_dump / pg_restore)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from matcher.bootstrap import bootstrap
from matcher.config import Settings
from matcher.services import intake
from tests import factories
from tests.real_parts import PG_ADMIN_URL, ensure_postgres

PEOPLE = ["Amina Begum", "Bob Jones", "Chidi Okafor"]


def qimatch(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "web.cli", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def with_people(env: dict[str, str]) -> None:
    services = bootstrap(Settings.from_env(env), migrate_database=True)
    for name in PEOPLE:
        intake.register_volunteer(services.uow(), factories.offer(name=name), services.clock)
    assert services.engine is not None
    services.engine.dispose()


def people_in(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(text("SELECT name FROM volunteers")).scalars())
    finally:
        engine.dispose()


def embedded(data_dir: Path) -> dict[str, str]:
    # The embedded default: no database URL, the data folder decides.
    env = {"QIMATCH_DATA_DIR": str(data_dir), "QIMATCH_DATABASE_URL": "", "QIMATCH_BROKER_URL": ""}
    env.update(QIMATCH_SMTP_URL="", QIMATCH_SECRET_KEY="")
    return env


def test_an_embedded_backup_restored_on_a_fresh_machine_has_the_same_people_mail_and_key(tmp_path: Path) -> None:
    old = embedded(tmp_path / "old")
    with_people(old)
    (tmp_path / "old" / "mail").mkdir(exist_ok=True)
    (tmp_path / "old" / "mail" / "sent.eml").write_text("Subject: hello\n\nkept\n")
    key = (tmp_path / "old" / "secret_key").read_text()

    made = qimatch(old, "backup", "--to", str(tmp_path / "backup"), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "backed up the sqlite database" in made.stdout

    new = embedded(tmp_path / "new")
    restored = qimatch(new, "restore", str(tmp_path / "backup"), cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert people_in(f"sqlite:///{tmp_path / 'new' / 'qimatch.sqlite'}") == sorted(PEOPLE)
    assert (tmp_path / "new" / "mail" / "sent.eml").read_text().endswith("kept\n")
    assert (tmp_path / "new" / "secret_key").read_text() == key  # signed links still work
    assert qimatch(new, "migrate", cwd=tmp_path).returncode == 0  # and the service starts on it

    again = qimatch(new, "restore", str(tmp_path / "backup"), cwd=tmp_path)
    assert again.returncode != 0 and "--replace" in again.stderr  # never overwrites by surprise


@pytest.fixture
def two_databases() -> Iterator[tuple[str, str]]:
    ensure_postgres()
    names = [f"qimatch_bk_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_postgresql_backup_restored_into_an_empty_database_has_the_same_people(
    tmp_path: Path, two_databases: tuple[str, str]
) -> None:
    source, target = two_databases
    old = {"QIMATCH_DATA_DIR": str(tmp_path / "old"), "QIMATCH_DATABASE_URL": source, "QIMATCH_SECRET_KEY": "k"}
    with_people(old)
    made = qimatch(old, "backup", "--to", str(tmp_path / "backup"), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "backup" / "qimatch.pgdump").stat().st_size > 0

    new = {"QIMATCH_DATA_DIR": str(tmp_path / "new"), "QIMATCH_DATABASE_URL": target, "QIMATCH_SECRET_KEY": "k"}
    restored = qimatch(new, "restore", str(tmp_path / "backup"), cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert people_in(target) == sorted(PEOPLE)
    assert qimatch(new, "migrate", cwd=tmp_path).returncode == 0
