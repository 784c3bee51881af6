"""``LocalJobStore``: the standard library's sqlite3 on a file (WAL): writes on the caller's
thread, reads inside Trio on a few read-only connections in threads.

Rationale. A write on a local SQLite file takes microseconds; handing it to a thread (and
back) costs several times that (180 µs measured on a loaded 2-core machine, against a job
cycle of about 100 µs raw). So writes run right where they are called, on the Trio thread,
on the one writer connection, with SQLite's busy timeout at zero: when another process holds
the write lock, the statement fails at once without having run, and the store waits
*asynchronously* (backing off from 1 ms to 50 ms) before trying again, for up to
``BUSY_TIMEOUT_S`` in all. Other tasks run meanwhile. A statement cannot be interrupted
halfway, so none is ever left with an unknown outcome, and no shield is needed.

Reads of more than a row (lists, counts, the live updates' changes, a history, a prune's
dry run) inside Trio run in a thread on one of up to ``READERS`` read-only connections: WAL
lets them run beside the writer, so a slow read neither stops the event loop nor holds up
the polls of an HTTP server behind it, and each read sees every write committed before it
began. Reads of one row by its key (``_INLINE_READS``: a poll, a get) stay on the calling
thread, where they cost less than the hop. Outside Trio (one-shot CLI calls) everything
runs on the writer connection, as before.
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
from typing import Any

from . import _io
from ._compiled import SQL, Q
from ._errors import JobStoreError, StoreConfigError, StoreUnavailable
from ._sql import Ops, Rows, SqlJobStore

__all__ = ["LocalJobStore", "LocalTransport"]

#: How long, in all, a statement waits for another process's write lock before giving up.
BUSY_TIMEOUT_S = 10.0
#: Read-only connections for reads inside Trio, each used by one thread at a time.
READERS = 4
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
    """Runs writes on one sqlite3 connection in the calling thread, reads inside Trio on
    read-only connections in threads; see the module docstring."""

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
        # Idle read-only connections (see ``_read``), each with the epoch it was opened in:
        # one of an earlier epoch (the file was replaced, or the store closed) is closed
        # instead of used again.
        self._readers: list[tuple[int, sqlite3.Connection]] = []
        self._epoch = 0
        self._limiter: Any = None  # trio.CapacityLimiter(READERS), made at the first read

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
        self._drop_readers()
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

    def _reads_here(self, ops: Ops) -> bool:
        """Whether ``ops`` go to a reader thread: reads only, inside Trio, with the file
        open (its first call opens it, and makes it if need be, on the writer)."""
        return (
            self._conn is not None
            and _io.in_trio()
            and all(_is_read(sql) and sql not in _INLINE_READS for sql, _ in ops)
        )

    async def _read(self, ops: Ops) -> Rows:
        """Run read-only ``ops`` on a reader connection in a thread: WAL lets them run beside
        the writer, and the loop runs meanwhile. Several ops share one snapshot."""
        import trio

        self._same_file()  # one stat, on this thread: a replaced file is let go here
        if self._limiter is None:
            self._limiter = trio.CapacityLimiter(READERS)
        async with self._limiter:
            epoch = self._epoch
            idle = self._readers.pop() if self._readers else None
            conn = idle[1] if idle is not None and idle[0] == epoch else None
            if idle is not None and conn is None:
                idle[1].close()
            try:
                used, rows = await trio.to_thread.run_sync(self._read_in_thread, conn, ops)
            except BaseException:
                if conn is not None:
                    conn.close()  # it may be broken; the next read opens another
                raise
            if epoch == self._epoch:
                self._readers.append((epoch, used))
            else:
                used.close()
        return rows

    def _read_in_thread(
        self, conn: sqlite3.Connection | None, ops: Ops
    ) -> tuple[sqlite3.Connection, Rows]:
        if conn is None:
            conn = sqlite3.connect(
                f"file:{urllib.parse.quote(str(self.path))}?mode=ro",
                uri=True,
                timeout=0,
                isolation_level=None,
                check_same_thread=False,  # each read may run on another of Trio's threads
            )
        if len(ops) == 1:
            sql, params = ops[0]
            return conn, [conn.execute(sql, params).fetchall()]
        conn.execute("BEGIN")
        try:
            return conn, [conn.execute(sql, params).fetchall() for sql, params in ops]
        finally:
            conn.execute("COMMIT")

    def _drop_readers(self) -> None:
        """Close the idle readers; those in use are closed when they come back."""
        self._epoch += 1
        readers, self._readers = self._readers, []
        for _, conn in readers:
            conn.close()

    async def _attempt(self, ops: Ops) -> Rows:
        if self._reads_here(ops):
            return await self._read(ops)
        return self._execute(ops)

    async def run(self, ops: Ops) -> Rows:
        """Run ``ops`` (one transaction if several); waits out another process's lock.

        Writes run on the calling thread (a statement takes microseconds; handing it to a
        thread would cost several times that); reads inside Trio on a reader thread.
        Cancellation: only while waiting for the lock or a reader, when nothing ran.
        """
        delay, started = 0.001, time.monotonic()
        while True:
            try:
                return await self._attempt(ops)
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
        self._drop_readers()
        if conn is not None:
            conn.close()


_SIDECARS = ("-wal", "-shm")
#: How the compiled statements that only read begin (``tests/test_compiled.py`` checks that
#: these are exactly the SELECTs; a write sent to a reader would fail: it is read-only).
_READS = ("SELECT", "WITH")


def _is_read(sql: str) -> bool:
    return sql.startswith(_READS)


#: Reads of one row by its key that stay on the calling thread: tens of microseconds, less
#: than the hop to a thread and back (measured: the poll endpoint served 1,200 requests/s
#: with these inline against 890 with them in threads, 50 clients). A poll counts the
#: pending jobs ahead of its job: a few milliseconds for one 60,000 deep in the queue.
_INLINE_READS = frozenset(
    SQL[name] for name in (Q.GET, Q.POLL, Q.CHECK_CANCEL, Q.BY_DEDUP_KEY, Q.CLOCK, Q.CHANGE_MARK)
)


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
    loop) while another process holds the lock. Writes run on the calling thread, reads
    inside Trio in threads (see the module docstring).
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
