"""The embedded default's files after an erasure, and who may read them.

Found by a security review: the database and .eml files (which hold live private
links) were 0644; erased rows lingered in SQLite's WAL until a checkpoint; the mail
folder kept erased people's emails.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from matcher.bootstrap import bootstrap
from matcher.config import Settings
from matcher.ports import Email
from matcher.services import intake, volunteer_self
from tests import factories

NAME, ADDRESS = "Zenobia Quillfeather", "zenobia.quillfeather@example.org"


def every_file(folder: Path) -> list[Path]:
    return [Path(root) / name for root, _, names in os.walk(folder) for name in names]


def test_erasure_leaves_no_trace_in_the_database_files_or_the_mail_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings.from_env({"QIMATCH_DATA_DIR": str(data), "QIMATCH_SECRET_KEY": "k"})
    services = bootstrap(settings, migrate_database=True)
    other = intake.register_volunteer(services.uow(), factories.offer(), services.clock)
    volunteer = intake.register_volunteer(
        services.uow(), factories.offer(name=NAME, email=ADDRESS), services.clock
    )
    for to, n in ((ADDRESS, 1), (other.email, 2)):
        greeting = f"Hello {NAME}" if to == ADDRESS else "Hello"
        services.mailer.send(Email(to, "Your private link", greeting, "<p>Hi</p>", f"<m{n}@q>"))
    written = b"".join(p.read_bytes() for p in every_file(data))
    assert b"Quillfeather" in written  # it is there to be erased (the database, the WAL, the mail)

    volunteer_self.erase(services.uow(), volunteer.id, services.clock, services.mailer)

    leftovers = [p for p in every_file(data) if b"quillfeather" in p.read_bytes().lower()]
    assert leftovers == []
    assert len(list((data / "mail").glob("*.eml"))) == 1  # the other person's email stays


def test_data_files_are_the_service_users_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "left-open.eml").write_text("from an older version")
    (data / "left-open.eml").chmod(0o644)
    settings = Settings.from_env({"QIMATCH_DATA_DIR": str(data), "QIMATCH_SECRET_KEY": "k"})
    services = bootstrap(settings, migrate_database=True)
    intake.register_volunteer(services.uow(), factories.offer(), services.clock)
    services.mailer.send(Email("a@example.org", "s", "t", "<p>h</p>", "<m@q>"))

    for path in [data, *(p for p in data.rglob("*"))]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
