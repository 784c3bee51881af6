"""The Turso store's helper process: owns the libsql connection, runs named statements.

Why a process: ``libsql`` holds the GIL while it waits on the network and has no timeout,
so a stuck server would freeze the worker (no heartbeat, no self-fencing, no way to stop
ffmpeg). Out here it can only freeze itself; the store kills it and starts another.

Protocol over stdin/stdout: frames of a 4-byte big-endian length and a pickle. The first
frame from the parent carries the connection settings (the token travels here, never in
argv or the environment); then each request is a list of ops and each reply is
``("ok", rows)`` or ``("err", error class name, message)``. The helper connects on the
first request and reconnects by itself after a broken connection.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from . import _errors
from ._errors import StoreUnavailable
from ._runner import Op, Rows
from ._session import SqlSession

__all__ = ["HelperSession"]

_HEADER = struct.Struct(">I")
_PR_SET_PDEATHSIG = 1


def _write(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


class HelperSession:
    """The parent's end: a session whose connection lives in a helper process.

    It heals itself: the helper reconnects to the server on its own after a broken
    connection, and a helper that died (or was killed by :meth:`interrupt`) is replaced at
    the next call. So an outage costs a refused connection per call, not a new process.
    """

    def __init__(self, settings: dict[str, Any], label: str) -> None:
        self._settings = settings
        self._label = label
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        root = str(Path(__file__).resolve().parent.parent)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
        }
        env.pop("TURSO_AUTH_TOKEN", None)  # the helper gets the token over its pipe only
        proc = subprocess.Popen(
            [sys.executable, "-m", "stores._helper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        with self._lock:
            self._proc = proc
        self._send(proc, self._settings)
        return proc

    def _send(self, proc: subprocess.Popen[bytes], message: object) -> None:
        assert proc.stdin is not None
        try:
            _write(proc.stdin, message)
        except OSError as exc:
            self._discard(proc)
            raise StoreUnavailable(f"{self._label}: the database helper process ended") from exc

    def _reply(self, proc: subprocess.Popen[bytes]) -> Rows:
        assert proc.stdout is not None
        try:
            reply = _read(proc.stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            self._discard(proc)
            raise StoreUnavailable(
                f"{self._label}: the database helper process ended "
                f"(exit {proc.poll()}); the outcome of the call is unknown"
            ) from exc
        if reply[0] == "ok":
            rows: Rows = reply[1]
            return rows
        error_class = getattr(_errors, reply[1], _errors.JobStoreError)
        raise error_class(reply[2])

    def execute(self, ops: Sequence[Op]) -> Rows:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            proc = self._start()
        self._send(proc, list(ops))
        return self._reply(proc)

    def interrupt(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.kill()

    def _discard(self, proc: subprocess.Popen[bytes]) -> None:
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        try:
            proc.wait(5)  # it exits on end of input
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with self._lock:
            if self._proc is proc:
                self._proc = None

    def close(self) -> None:
        if self._proc is not None:
            self._discard(self._proc)


def _die_with_parent() -> None:
    # The helper is started by the store's session thread, which outlives the session, so
    # the parent-death signal (which follows the forking thread) fires exactly when needed.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _error_reply(exc: Exception) -> tuple[Any, ...]:
    if isinstance(exc, _errors.JobStoreError):
        return ("err", type(exc).__name__, str(exc))
    return ("err", "JobStoreError", f"{type(exc).__name__}: {exc}")


class _Connection:
    """The helper's side: connects on demand, reconnects after a broken connection."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self._settings = settings
        self._session: SqlSession | None = None

    def execute(self, ops: Sequence[Op]) -> Rows:
        from ._turso import open_turso_session

        for attempt in (1, 2):
            existing = self._session is not None
            if self._session is None:
                self._session = open_turso_session(**self._settings)
            try:
                return self._session.execute(ops)
            except StoreUnavailable as exc:
                self._session.close()
                self._session = None
                # A stale stream (server restarted, minutes idle) fails without running
                # anything: one retry on a fresh connection hides it from the caller.
                if attempt == 2 or not (existing and exc.not_sent):
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def _main() -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write to the protocol stream
    try:
        connection = _Connection(_read(stdin))
    except EOFError:
        return
    while True:
        try:
            ops = _read(stdin)
        except EOFError:
            break
        try:
            reply: tuple[Any, ...] = ("ok", connection.execute(ops))
        except Exception as exc:
            reply = _error_reply(exc)
        _write(stdout, reply)
    connection.close()


if __name__ == "__main__":
    _main()
