"""The embedded default's files are the person's data: readable by the service's user only.

The SQLite database (and its WAL), the mail folder's .eml files (which hold live private
links), the broker's message files and the secret key all live under the data folder.
Everything the service creates there is 0600 in 0700 folders, and what an older version
left more open is closed at start.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077


def keep_private(data_dir: Path) -> None:
    os.umask(PRIVATE_UMASK)  # files this process creates from now on: 0600, folders 0700
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            (Path(root) / name).chmod(0o700)
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                path.chmod(0o600)
