"""The Turso store's helper process: owns the libsql connection, runs plain SQL.

Why a process: ``libsql`` holds the GIL while it waits on the network and has no timeout,
so a stuck server would freeze the worker (no heartbeat, no self-fencing, no way to stop
ffmpeg). Out here it can only freeze itself; the store kills it and starts another.

This file runs as a plain script (``python -I _helper.py REQUEST_FD ANSWER_FD``): the
standard library and ``libsql`` only, so it starts in a few tens of milliseconds. The
protocol runs on those two pipes only; fds 0, 1 and 2 are /dev/null (see
``_turso._Helper``). Statements arrive as SQL text with positional parameters, compiled
once in the parent. Everything that crosses the pipes is defined here, in one place:
frames (a 4-byte big-endian length, then a pickle), the settings frame (the token travels
here, never in argv or the environment), requests (a list of ``(sql, parameters)``) and
replies (``("ok", rows per op)`` or ``("err", error)``, the error encoded by
:func:`encode_error` and rebuilt in the parent by :func:`decode_error`). The helper
connects on the first request and reconnects by itself after a broken connection.
"""

# Runs as a script in the helper process: standard library imports only (and libsql).
from __future__ import annotations

import ctypes
import os
import pickle
import signal
import struct
import sys
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["decode_error", "encode_error", "frame", "read_frame_blocking", "unframe_size"]

HEADER = struct.Struct(">I")
_PR_SET_PDEATHSIG = 1
#: How long a statement the server answers "busy" (another writer holds the lock past the
#: server's own short wait) is tried again before the call fails as unavailable.
BUSY_PATIENCE = 5.0
_BUSY_MARKS = ("SQLITE_BUSY", "SQLITE_LOCKED", "database is locked")


def _busy(text: str) -> bool:
    """True for the server's "another writer holds the lock" answer (nothing ran)."""
    return any(mark in text for mark in _BUSY_MARKS)


#: Error kinds on the wire: ``unavailable`` (network, server down or stuck), ``config``
#: (the token was refused), ``statement`` (the server ran the statement and refused it).
Wire = tuple[str, str, bool]


def frame(obj: object) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def unframe_size(header: bytes) -> int:
    (size,) = HEADER.unpack(header)
    return int(size)


def read_frame_blocking(fd: int) -> Any:
    """Read one frame from a blocking file descriptor; EOFError at end of input."""
    size = unframe_size(_read_exact(fd, HEADER.size))
    return pickle.loads(_read_exact(fd, size))


def _read_exact(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def encode_error(exc: BaseException, token: str | None, label: str) -> Wire:
    """A libsql error as ``(kind, message, not_sent)``, the token blanked out.

    ``not_sent`` is True when the request certainly did not run (refused connection, a
    stream made stale by a server restart or minutes idle): safe to retry at once.
    """
    text = str(exc)
    if token:
        text = text.replace(token, "***")
    if "401" in text or "Unauthorized" in text:
        return (
            "config",
            f"the libSQL server at {label} refused the token (401): check TURSO_AUTH_TOKEN",
            False,
        )
    if _busy(text):
        # Another writer held the lock: the statement did not run, nothing was written.
        return (
            "unavailable",
            f"the libSQL server at {label} is busy (another writer holds the lock): {text}",
            True,
        )
    if any(mark in text for mark in ("SQLite error", "SQLITE_", "ARGS_INVALID", "too big")):
        # The server ran (or refused) the statement itself: retrying it would not help.
        return ("statement", f"the libSQL server at {label} reported: {text}", False)
    if isinstance(exc, ValueError | OSError | ConnectionError) or "Hrana" in text:
        not_sent = any(
            marker in text for marker in ("invalid baton", "STREAM_EXPIRED", "Connection refused")
        )
        return ("unavailable", f"cannot reach the libSQL server at {label}: {text}", not_sent)
    return ("statement", f"the libSQL driver failed: {type(exc).__name__}: {text}", False)


def decode_error(wire: Wire) -> Exception:
    """The parent's exception for an error that crossed the pipe (see encode_error)."""
    from ._errors import JobStoreError, StoreConfigError, StoreUnavailable

    kind, message, not_sent = wire
    if kind == "unavailable":
        return StoreUnavailable(message, not_sent=not_sent)
    if kind == "config":
        return StoreConfigError(message)
    return JobStoreError(message)


class _Connection:
    """The helper's side: connects on demand, reconnects after a broken connection."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self._url: str = settings["url"]
        self._token: str | None = settings.get("token")
        self.label: str = settings["label"]
        self._conn: Any = None
        self.ran = 0

    def _connect(self) -> Any:
        import libsql

        kwargs = {"auth_token": self._token} if self._token else {}
        return libsql.connect(self._url, isolation_level=None, **kwargs)

    def execute(self, ops: Sequence[tuple[str, tuple[Any, ...]]]) -> list[list[tuple[Any, ...]]]:
        """Run ``ops`` in order (each one its own transaction on the server). ``ran`` counts
        those that ran, so a failure after the first is never reported as "not sent"."""
        self.ran = 0
        results = []
        for sql, params in ops:
            results.append(self._statement(sql, params))
            self.ran += 1
        return results

    def _statement(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        reconnected, delay = False, 0.001
        busy_until = time.monotonic() + BUSY_PATIENCE
        while True:
            existing = self._conn is not None
            try:
                if self._conn is None:
                    self._conn = self._connect()
                return [tuple(row) for row in self._conn.execute(sql, params).fetchall() or ()]
            except Exception as exc:
                if _busy(str(exc)) and time.monotonic() < busy_until:
                    time.sleep(delay)  # it did not run: try again once the lock is free
                    delay = min(delay * 2, 0.05)
                    continue
                kind, _, not_sent = encode_error(exc, self._token, self.label)
                if kind != "unavailable":
                    raise
                self.close()
                # A stale stream (server restarted, minutes idle) fails without running
                # anything: one retry on a fresh connection hides it from the caller.
                if reconnected or not (existing and not_sent):
                    raise
                reconnected = True

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken: closing is best effort
                pass


def _die_with_parent() -> None:
    # The helper is started from the thread running the parent's Trio loop (or its only
    # thread), which lives as long as the parent: the parent-death signal fires exactly then.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def serve(read_fd: int, write_fd: int) -> None:
    """Answer requests until end of input."""
    try:
        connection = _Connection(read_frame_blocking(read_fd))
    except EOFError:
        return
    while True:
        try:
            ops = read_frame_blocking(read_fd)
        except EOFError:
            break
        try:
            reply: tuple[Any, ...] = ("ok", connection.execute(ops))
        except Exception as exc:
            kind, message, not_sent = encode_error(exc, connection._token, connection.label)
            # Statements before the failing one ran: the call as a whole was sent.
            reply = ("err", (kind, message, not_sent and connection.ran == 0))
        data = frame(reply)
        while data:
            data = data[os.write(write_fd, data) :]
    connection.close()


def _main() -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # The protocol's pipes are descriptors of their own (argv), never fd 0, 1 or 2: native
    # code (libsql's tracing under RUST_LOG) writes to those, and its output is dropped.
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    serve(read_fd, write_fd)


if __name__ == "__main__":
    _main()
