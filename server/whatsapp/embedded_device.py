"""whatsmeow's device store as a file WaPipe can keep: the session's keys live in a SQLite file that the
running client writes; WaPipe saves a consistent copy of it (encrypted, in its own database) and writes it
back before the next worker opens the session.

``snapshot`` reads the file through SQLite (``serialize``), so a copy taken while whatsmeow writes is
still a whole database, never half a transaction; ``restore`` writes the copy readable by this process's
user only, replacing the file in one step.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path


def snapshot(path: Path) -> bytes | None:
    """A consistent copy of the SQLite file at ``path``; ``None`` when there is no file yet."""
    if not path.exists():
        return None
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return connection.serialize()
    finally:
        connection.close()


def restore(path: Path, data: bytes) -> None:
    """Write a copy ``snapshot`` took to ``path`` (mode 0600), replacing what was there."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(path.name + ".restoring")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(partial, path)
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)  # a journal of an older copy must not be replayed onto this one


def remove(path: Path) -> None:
    """The file and its journals, once the session runs elsewhere (its copy is in the database)."""
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
