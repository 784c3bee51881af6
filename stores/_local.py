"""``LocalJobStore``: the standard library's sqlite3 on a file (WAL), run on the caller's thread.

Rationale. A statement on a local SQLite file takes microseconds; handing it to a thread
(and back) cost many times that. So statements run right where they are called, on the
Trio thread, with SQLite's busy timeout at zero: when another process holds the write lock,
the statement fails at once without having run, and the store waits *asynchronously*
(backing off from 1 ms to 50 ms) before trying again, for up to ``BUSY_TIMEOUT_S`` in all.
Other tasks run meanwhile. A statement cannot be interrupted halfway, so none is ever left
with an unknown outcome, and no shield is needed.
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from . import _io
from ._errors import JobStoreError, StoreConfigError, StoreUnavailable
from ._sql import Ops, Rows, SqlJobStore

__all__ = ["LocalJobStore", "LocalTransport"]

#: How long, in all, a statement waits for another process's write lock before giving up.
BUSY_TIMEOUT_S = 10.0
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class LocalTransport:
    """Runs ops on one sqlite3 connection in the calling thread; see the module docstring."""

    label = "local job store"
    call_timeout = math.inf  # a local statement cannot hang on a network

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._cutoff = math.inf

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=0,
            isolation_level=None,  # autocommit: each statement is its own transaction
            check_same_thread=False,  # closed perhaps by another thread (atexit, teardown)
        )
        try:
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _execute(self, ops: Ops) -> Rows:
        if self._conn is None:
            self._conn = self._open()
        conn = self._conn
        if len(ops) == 1:
            sql, params = ops[0]
            return [conn.execute(sql, params).fetchall()]
        # Several ops: all or none, so a retry after "busy" never repeats half of them.
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = [conn.execute(sql, params).fetchall() for sql, params in ops]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return rows

    async def run(self, ops: Ops) -> Rows:
        """Run ``ops`` (one transaction if several); waits out another process's lock.

        Cancellation: only while waiting for the lock, when nothing ran.
        """
        delay, started = 0.001, time.monotonic()
        while True:
            try:
                return self._execute(ops)
            except sqlite3.Error as exc:
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _BUSY:
                    raise self._mapped(exc) from exc
                waited = time.monotonic() - started
                if waited > BUSY_TIMEOUT_S or _now_trio() >= self._cutoff:
                    raise StoreUnavailable(
                        f"the job database {self.path} is locked by another process for "
                        f"over {waited:.1f} s ({exc}); nothing was written"
                    ) from exc
            await _io.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _mapped(self, exc: sqlite3.Error) -> JobStoreError:
        text = str(exc)
        if "unable to open" in text:
            return StoreConfigError(
                f"cannot open the job database {self.path} ({text}): check JOBS_DB_PATH "
                "names a file in a folder this user can write"
            )
        if "not a database" in text or "malformed" in text:
            return StoreConfigError(
                f"{self.path} is not a SQLite database ({text}): point JOBS_DB_PATH at a "
                "job database or at a file that does not exist yet"
            )
        if isinstance(exc, sqlite3.OperationalError):
            return StoreUnavailable(f"the local job database failed: {text}")
        return JobStoreError(f"the local job database refused a statement: {text}")

    def cut_off_at(self, deadline: float) -> None:
        self._cutoff = deadline

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _now_trio() -> float:
    if _io.in_trio():
        import trio

        return trio.current_time()
    return -math.inf


class LocalJobStore(SqlJobStore):
    """Jobs in a SQLite file; several processes may share the file.

    WAL lets readers run beside the one writer; a writer waits (without blocking the event
    loop) while another process holds the lock. Calls run on the calling thread.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, clock: Callable[[], float] | None = None
    ) -> None:
        self.path = Path(path)
        try:
            _make_folders(self.path.parent)
        except OSError as exc:
            raise StoreConfigError(
                f"cannot create the folder of the job database {self.path}: {exc}"
            ) from exc
        _create_private(self.path)
        super().__init__(LocalTransport(self.path), clock=clock)

    def __repr__(self) -> str:
        return f"<LocalJobStore path={str(self.path)!r}>"


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
