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
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from . import _io
from ._errors import JobStoreError, StoreConfigError, StoreUnavailable
from ._sql import Ops, Rows, SqlJobStore

__all__ = ["LocalJobStore", "LocalTransport"]

#: How long, in all, a statement waits for another process's write lock before giving up.
BUSY_TIMEOUT_S = 10.0
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
#: Free space under which the health check calls the disk full: a write may need a few
#: hundred KiB (WAL frames of every page it touches, a checkpoint).
MIN_FREE_BYTES = 1024 * 1024

_NOT_A_DATABASE = (
    "{path} is not a SQLite database ({text}): point JOBS_DB_PATH at a job database or at a "
    "file that does not exist yet"
)
#: sqlite3 errors by primary result code: what they mean for the store. A full disk and an
#: I/O error are outages of the store (nothing was written; retry once fixed), never a
#: verdict on the job being written.
_BY_CODE: dict[int, tuple[type[JobStoreError], str]] = {
    sqlite3.SQLITE_FULL: (
        StoreUnavailable,
        "disk full at {path} ({text}): nothing was written; make room on its filesystem",
    ),
    sqlite3.SQLITE_IOERR: (
        StoreUnavailable,
        "disk I/O error at {path} ({text}): nothing was written; check the disk",
    ),
    sqlite3.SQLITE_CANTOPEN: (
        StoreConfigError,
        "cannot open the job database {path} ({text}): check JOBS_DB_PATH names a file in "
        "a folder this user can write",
    ),
    sqlite3.SQLITE_NOTADB: (StoreConfigError, _NOT_A_DATABASE),
    sqlite3.SQLITE_CORRUPT: (StoreConfigError, _NOT_A_DATABASE),
}


class LocalTransport:
    """Runs ops on one sqlite3 connection in the calling thread; see the module docstring."""

    label = "local job store"
    call_timeout = math.inf  # a local statement cannot hang on a network

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._cutoff = math.inf
        # (st_dev, st_ino) of the file the connection has open: a restore that moves the
        # file aside and puts another in its place must not leave this process on the old.
        self._identity: tuple[int, int] | None = None
        # Those of its write-ahead log and shared-memory index, which live beside it by name.
        self._sidecars: dict[str, tuple[int, int] | None] = {}
        #: Grows each time the file at the path is opened anew after a replacement: the
        #: store then checks the schema again (a restored file may be of an older revision).
        self.generation = 0

    def _open(self) -> sqlite3.Connection:
        # After a replacement the file must exist: never make an empty database at the path
        # while the operator is putting one back (the worker would run on it, split again).
        mode = "rwc" if self.generation == 0 else "rw"
        conn = sqlite3.connect(
            f"file:{urllib.parse.quote(str(self.path))}?mode={mode}",
            uri=True,
            timeout=0,
            isolation_level=None,  # autocommit: each statement is its own transaction
            check_same_thread=False,  # closed perhaps by another thread (atexit, teardown)
        )
        try:
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._identity = _identity(self.path)
            self._sidecars = {sfx: _identity(self._sidecar(sfx)) for sfx in _SIDECARS}
        except BaseException:
            conn.close()
            raise
        return conn

    def _sidecar(self, suffix: str) -> Path:
        return self.path.with_name(self.path.name + suffix)

    def _same_file(self) -> None:
        """Raise StoreUnavailable, and let go of the old file, if the path no longer names
        the file this connection has open (one stat per call: a microsecond)."""
        now = _identity(self.path)
        if now == self._identity:
            return
        conn, self._conn = self._conn, None
        self.generation += 1
        if conn is not None:
            conn.close()
        if now is None:
            raise StoreUnavailable(
                f"the job database file {self.path} was moved or deleted while open: "
                "stopped using it; waiting for a database at that path"
            )
        raise StoreUnavailable(
            f"the job database file {self.path} was replaced while open (a restore or a "
            f"move: device/inode {_ident(self._identity)} is now {_ident(now)}): stopped "
            "using the old file, the next call opens the new one"
        )

    def _may_reopen(self) -> None:
        """After a replacement: raise StoreUnavailable unless the path holds a database
        that can be opened safely. The old file's write-ahead log and index stay at their
        names when only the database file is moved (SQLite does not fold a moved file's
        log back in on close); a connection to the new file would read the old one's pages
        from them, and write them into it at the next checkpoint."""
        if _identity(self.path) is None:
            raise StoreUnavailable(
                f"the job database {self.path} is gone (moved or deleted while this process "
                "used it): waiting for a database at that path"
            )
        stale = [
            str(self._sidecar(sfx))
            for sfx, old in self._sidecars.items()
            if old is not None and _identity(self._sidecar(sfx)) == old
        ]
        if stale:
            raise StoreUnavailable(
                f"the job database file {self.path} was replaced, but the old file's "
                f"{' and '.join(stale)} are still beside it: move them with the old file "
                "(with every process using it stopped) before the new one can be used"
            )

    def _execute(self, ops: Ops) -> Rows:
        if self._conn is None:
            if self.generation:
                self._may_reopen()
            self._conn = self._open()
        else:
            self._same_file()
        conn = self._conn
        if None in self._sidecars.values():
            # SQLite makes the -wal and -shm files at the first transaction; while this
            # connection is open they stay the same files.
            self._sidecars = {sfx: _identity(self._sidecar(sfx)) for sfx in _SIDECARS}
        if len(ops) == 1:
            sql, params = ops[0]
            return [conn.execute(sql, params).fetchall()]
        # Several ops: all or none, so a retry after "busy" never repeats half of them.
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = [conn.execute(sql, params).fetchall() for sql, params in ops]
            conn.execute("COMMIT")
        except BaseException:
            # SQLite ends the transaction by itself on some errors (SQLITE_FULL, I/O
            # errors); a ROLLBACK then fails and would hide the error that says why.
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        return rows

    def condition(self) -> str | None:
        """What makes the store unusable though it answers reads (None: nothing): its
        filesystem full. Cheap (one statvfs): health checks call it."""
        try:
            fs = os.statvfs(self.path.parent)
        except OSError:
            return None  # the call itself says what is wrong with the folder
        free = fs.f_bavail * fs.f_frsize
        if free < MIN_FREE_BYTES:
            return (
                f"disk full at {self.path}: {free // 1024} KiB free on its filesystem, under "
                f"the {MIN_FREE_BYTES // 1024} KiB a write may need; make room there"
            )
        return None

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
        mapped = _BY_CODE.get(getattr(exc, "sqlite_errorcode", 0) & 0xFF)
        if mapped is not None:
            kind, template = mapped
            return kind(template.format(path=self.path, text=text))
        if isinstance(exc, sqlite3.OperationalError):
            return StoreUnavailable(f"the local job database failed: {text}")
        return JobStoreError(f"the local job database refused a statement: {text}")

    def cut_off_at(self, deadline: float) -> None:
        self._cutoff = deadline

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


_SIDECARS = ("-wal", "-shm")


def _identity(path: Path) -> tuple[int, int] | None:
    """(st_dev, st_ino) of the file at ``path``, None if there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _ident(identity: tuple[int, int] | None) -> str:
    return "none" if identity is None else f"{identity[0]}:{identity[1]}"


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
