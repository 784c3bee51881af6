"""The Turso store's helper process: owns the libsql connection, runs named statements.

Why a process: ``libsql`` holds the GIL while it waits on the network and has no timeout,
so a stuck server would freeze the worker (no heartbeat, no self-fencing, no way to stop
ffmpeg). Out here it can only freeze itself; the store kills it and starts another.

Protocol over stdin/stdout: frames of a 4-byte big-endian length and a pickle. The first
frame from the parent carries the connection settings (the token travels here, never in
argv or the environment); then each request is a list of ops and each reply is
``("ok", rows)`` or ``("err", error class name, message)``.
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
    """The parent's end: a session whose connection lives in a helper process."""

    def __init__(self, settings: dict[str, Any], label: str) -> None:
        root = str(Path(__file__).resolve().parent.parent)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
        }
        for name in ("TURSO_AUTH_TOKEN",):
            env.pop(name, None)  # the helper gets the token over its pipe only
        self._label = label
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "stores._helper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._stdin, self._stdout = self._proc.stdin, self._proc.stdout
        try:
            _write(self._stdin, settings)
            self._reply()  # connected and migrated, or the reason why not
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _reply(self) -> Rows:
        try:
            reply = _read(self._stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            raise StoreUnavailable(
                f"{self._label}: the database helper process ended "
                f"(exit {self._proc.poll()}); the outcome of the call is unknown"
            ) from exc
        if reply[0] == "ok":
            rows: Rows = reply[1]
            return rows
        if reply[1] == "StoreUnavailable":
            raise StoreUnavailable(reply[2], not_sent=reply[3])
        error_class = getattr(_errors, reply[1], _errors.JobStoreError)
        raise error_class(reply[2])

    def execute(self, ops: Sequence[Op]) -> Rows:
        try:
            _write(self._stdin, list(ops))
        except OSError as exc:
            raise StoreUnavailable(f"{self._label}: the database helper process ended") from exc
        return self._reply()

    def interrupt(self) -> None:
        with self._lock:
            if self._proc.poll() is None:
                self._proc.kill()

    def close(self) -> None:
        for stream in (self._stdin, self._stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self._proc.wait(5)  # it exits on end of input
        except subprocess.TimeoutExpired:
            self.interrupt()
            self._proc.wait()


def _die_with_parent() -> None:
    # The helper is started by the store's session thread, which outlives the session, so
    # the parent-death signal (which follows the forking thread) fires exactly when needed.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _error_reply(exc: _errors.JobStoreError) -> tuple[Any, ...]:
    return ("err", type(exc).__name__, str(exc), getattr(exc, "not_sent", False))


def _main() -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write to the protocol stream
    from ._turso import open_turso_session

    try:
        settings = _read(stdin)
    except EOFError:
        return
    try:
        session = open_turso_session(**settings)
    except _errors.JobStoreError as exc:
        _write(stdout, _error_reply(exc))
        return
    _write(stdout, ("ok", []))
    while True:
        try:
            ops = _read(stdin)
        except EOFError:
            break
        try:
            reply: tuple[Any, ...] = ("ok", session.execute(ops))
        except _errors.JobStoreError as exc:
            reply = _error_reply(exc)
        except Exception as exc:
            reply = ("err", "JobStoreError", f"{type(exc).__name__}: {exc}")
        _write(stdout, reply)
    session.close()


if __name__ == "__main__":
    _main()
