"""``LocalJobStore``: the standard library's sqlite3 on a file (WAL, busy timeout)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from ._errors import StoreConfigError, StoreUnavailable
from ._session import open_sql_session
from ._sql import SqlJobStore

__all__ = ["LocalJobStore"]

#: How long a write waits for another process's write lock before giving up.
BUSY_TIMEOUT_S = 10.0


def _error_mapper(path: Path) -> Callable[[Exception], Exception | None]:
    def map_error(exc: Exception) -> Exception | None:
        orig = getattr(exc, "orig", exc)
        text = str(orig)
        if isinstance(orig, sqlite3.OperationalError):
            if "locked" in text or "busy" in text:
                return StoreUnavailable(
                    f"the job database is locked by another process for over "
                    f"{BUSY_TIMEOUT_S:g} s ({text})"
                )
            if "unable to open" in text:
                return StoreConfigError(
                    f"cannot open the job database {path} ({text}): check JOBS_DB_PATH "
                    "names a file in a folder this user can write"
                )
            return StoreUnavailable(f"the local job database failed: {text}")
        if isinstance(orig, sqlite3.DatabaseError) and (
            "not a database" in text or "malformed" in text
        ):
            return StoreConfigError(
                f"{path} is not a SQLite database ({text}): point JOBS_DB_PATH at a job "
                "database or at a file that does not exist yet"
            )
        return None

    return map_error


class LocalJobStore(SqlJobStore):
    """Jobs in a SQLite file; several processes may share the file.

    WAL lets readers run beside the one writer; the busy timeout makes a writer wait for
    the lock instead of failing. Blocking calls run off the Trio loop on one thread.
    """

    _label = "local job store"

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], float] | None = None):
        self.path = Path(path)
        try:
            _make_folders(self.path.parent)
        except OSError as exc:
            raise StoreConfigError(
                f"cannot create the folder of the job database {self.path}: {exc}"
            ) from exc
        _create_private(self.path)
        self._engine = sa.create_engine(
            f"sqlite:///{self.path}",
            poolclass=sa.NullPool,
            connect_args={
                "timeout": BUSY_TIMEOUT_S,
                "isolation_level": None,  # autocommit: each statement is its own transaction
                "check_same_thread": False,  # opened in one thread, closed maybe by another
            },
        )
        sa.event.listen(self._engine, "connect", _configure)
        super().__init__(
            lambda: open_sql_session(self._engine.connect, _error_mapper(self.path)),
            timeout=BUSY_TIMEOUT_S * 3,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"<LocalJobStore path={str(self.path)!r}>"

    def close(self) -> None:
        super().close()
        self._engine.dispose()


def _make_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents with mode 0755 (less if the umask says
    so): never writable by others, who could swap the database for a file of theirs."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        with contextlib.suppress(FileExistsError):
            made.mkdir(0o755)


def _create_private(path: Path) -> None:
    """Create the database file with mode 0600 if it does not exist yet.

    SQLite gives a new database 0644 (world-readable: every payload, result and error),
    and its ``-wal`` and ``-shm`` files the database file's mode; so creating the file
    first, 0600, makes all three private. An existing file keeps the mode it has.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # SQLite reports why it cannot open the file, with the remedy
    os.close(fd)


def _configure(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
