"""``qimatch backup`` and ``qimatch restore``: the database and the data folder, together.

The embedded default (SQLite): the database is copied with SQLite's online backup API,
which gives a consistent copy while the web and workers keep writing (a file copy of a
database in WAL mode may not be). PostgreSQL: ``pg_dump --format=custom`` and
``pg_restore``, which must be on the PATH (the same major version as the server or newer).

Beside the database, the data folder's own files are copied: the mail folder (the
embedded default's sent emails), ``content/`` (a FAQ replaced by hand before the content
page), and ``secret_key`` (without it, every session and link signed before is void).
Not copied: the broker's folder (messages in flight: the database is the source of truth,
and the sweep re-sends what they were for) and the scheduler's state.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

MANIFEST = "qimatch-backup.json"
SQLITE_COPY = "qimatch.sqlite"
PG_COPY = "qimatch.pgdump"
DATA = "data"
# Not part of a backup: in-flight broker files, the scheduler's state, SQLite's own side files.
SKIPPED = {"broker", "celerybeat-schedule", "backups"}


class BackupError(Exception):
    """A backup or restore that cannot go ahead, in words for the operator."""


@dataclass
class Backup:
    folder: Path
    database: str  # "sqlite" or "postgresql"
    files: list[str]


def _sqlite_path(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """The SQLAlchemy URL as pg_dump reads it (no "+psycopg"), and its password kept out
    of the command line (where ``ps`` shows it) in libpq's PGPASSWORD instead."""
    url = make_url(database_url)
    env = {"PGPASSWORD": url.password} if url.password else {}
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _data_files(data_dir: Path, database: Path | None) -> list[Path]:
    skip = set(SKIPPED)
    if database is not None and database.resolve().parent == data_dir.resolve():
        skip |= {database.name, database.name + "-wal", database.name + "-shm", database.name + "-journal"}
    if not data_dir.is_dir():
        return []
    return sorted(p for p in data_dir.iterdir() if p.name not in skip and not p.name.startswith("celerybeat-schedule"))


def _copy(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def backup(database_url: str, data_dir: Path, folder: Path, revision: str | None = None) -> Backup:
    """Write a backup into ``folder`` (made; it must not hold a backup already)."""
    if (folder / MANIFEST).exists():
        raise BackupError(f"{folder} already holds a backup; choose a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # it holds everyone's details, like the data folder itself
    database = _sqlite_path(database_url)
    if database is not None:
        if not database.is_file():
            raise BackupError(f"no database at {database}")
        source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        target = sqlite3.connect(folder / SQLITE_COPY)
        try:
            with target:
                source.backup(target)
        finally:
            source.close()
            target.close()
        kind, files = "sqlite", [SQLITE_COPY]
    else:
        target_url, env = _libpq(database_url)
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={folder / PG_COPY}", target_url], env)
        kind, files = "postgresql", [PG_COPY]
    for path in _data_files(data_dir, database):
        _copy(path, folder / DATA / path.name)
        files.append(f"{DATA}/{path.name}")
    manifest = {
        "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": kind,
        "schema_revision": revision,
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return Backup(folder, kind, files)


def restore(folder: Path, database_url: str, data_dir: Path, replace: bool = False) -> Backup:
    """Put a backup back. Stop the web, workers and beat first; run ``qimatch migrate`` after
    if the backup is from an older release. Refuses to overwrite a database unless ``replace``."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a qimatch backup (no {MANIFEST})") from None
    database = _sqlite_path(database_url)
    kind = "sqlite" if database is not None else "postgresql"
    if manifest["database"] != kind:
        raise BackupError(f"this backup is of a {manifest['database']} database, and the target is {kind}")
    if database is not None:
        if database.exists() and database.stat().st_size > 0 and not replace:
            raise BackupError(f"{database} exists; pass --replace to overwrite it with the backup")
        database.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{folder / SQLITE_COPY}?mode=ro", uri=True)
        target = sqlite3.connect(database)
        try:
            with target:
                source.backup(target)
        finally:
            source.close()
            target.close()
    else:
        target_url, env = _libpq(database_url)
        args = ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={target_url}"]
        if replace:
            args[1:1] = ["--clean", "--if-exists"]
        _run([*args, str(folder / PG_COPY)], env)
    saved = folder / DATA
    if saved.is_dir():
        data_dir.mkdir(parents=True, exist_ok=True)
        for path in sorted(saved.iterdir()):
            _copy(path, data_dir / path.name)
    return Backup(folder, kind, list(manifest["files"]))


def _run(args: list[str], env: dict[str, str]) -> None:
    if shutil.which(args[0]) is None:
        raise BackupError(f"{args[0]} is not installed: install PostgreSQL's client tools (docs/operations.md)")
    done = subprocess.run(args, capture_output=True, text=True, check=False, env={**os.environ, **env})
    if done.returncode != 0:
        raise BackupError(f"{args[0]} failed: {done.stderr.strip()[-500:]}")
