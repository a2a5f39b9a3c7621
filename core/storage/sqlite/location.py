"""Where the SQLite database lives, checked before anything is created there, so a wrong
TGWEBHOOK_DB fails at start with what is wrong instead of at the first update (or with a lock
file and an empty database left behind).

The database's own directory is created when missing if its parent exists (`data/` in a
checkout, for `make run`), like `mkdir` without `-p`; a path missing more than that is refused:
it is usually a typo or an unmounted volume, and creating the whole path would hide it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from core.storage.model import StoreMisconfigured


def check_location(path: str) -> None:
    """Raise StoreMisconfigured unless `path` is (or can become) a writable SQLite database."""
    if path == ":memory:" or path.startswith("file:"):
        return
    directory = Path(path).parent
    if not directory.exists() and directory.parent.is_dir():
        try:
            directory.mkdir()
        except OSError as exc:
            raise StoreMisconfigured(f"cannot create directory {directory}: {exc}") from exc
    if not directory.is_dir():
        raise StoreMisconfigured(f"directory {directory} does not exist (nor its parent)")
    if not os.access(directory, os.W_OK | os.X_OK):
        # SQLite writes its journal (-wal, -shm) next to the file, so the directory must be.
        raise StoreMisconfigured(f"directory {directory} is not writable by this process")
    check_file(Path(path))


def check_file(file: Path) -> None:
    if not file.exists():
        return
    if file.is_dir():
        raise StoreMisconfigured(f"{file} is a directory, not an SQLite database")
    if file.stat().st_size and not is_database(file):  # an empty file is a new database
        raise StoreMisconfigured(f"{file} is not an SQLite database")
    if not os.access(file, os.W_OK):
        raise StoreMisconfigured(f"{file} is not writable by this process")


def is_database(file: Path) -> bool:
    """Asked through SQLite, never by opening the file ourselves: closing any descriptor of a
    file drops every POSIX lock this process holds on it, including those of its open SQLite
    connections (SQLite's own connections know this and keep descriptors until it is safe)."""
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
        try:
            conn.execute("PRAGMA schema_version")
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return exc.sqlite_errorcode != sqlite3.SQLITE_NOTADB
    return True
