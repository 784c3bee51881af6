"""The Turso store's helper process: speaks Hrana over HTTP to the server, runs plain SQL.

Why a process: the store's calls must be bounded in real time whatever Trio's clock says
(tests run a mock clock), and a stuck server must never freeze the worker (no heartbeat, no
self-fencing, no way to stop ffmpeg). Out here a call can only freeze itself; the store
kills the process and starts another (see ``_turso``).

Why not ``libsql`` here any more: its Python binding prepares every statement first
(``describe``, one HTTP request) and then runs it (a second one), for two requests per
statement and four for a call of two, each its own transaction. The Hrana pipeline protocol
(``POST /v3/pipeline``, the one libsql speaks) takes a whole call in one request: its
statements, in a ``BEGIN IMMEDIATE … COMMIT`` batch when there are several (all or none),
and the stream's ``close``. So every call is one request on a fresh stream: no baton is
kept, and no stream can go stale between calls.

This file runs as a plain script (``python -I _helper.py REQUEST_FD ANSWER_FD``): the
standard library only, so it starts in a few tens of milliseconds. The protocol runs on
those two pipes only; fds 0, 1 and 2 are /dev/null (see ``_turso._Helper``). Statements
arrive as SQL text with positional parameters, compiled once in the parent. Everything that
crosses the pipes is defined here, in one place: frames (a 4-byte big-endian length, then a
pickle), the settings frame (the token travels here, never in argv or the environment),
requests (a list of ``(sql, parameters)``) and replies (``("ok", rows per op)`` or
``("err", error)``, the error a :data:`Wire` tuple rebuilt in the parent by
:func:`decode_error`).
"""

# Runs as a script in the helper process: standard library imports only.
from __future__ import annotations

import base64
import ctypes
import http.client
import json
import os
import pickle
import select
import signal
import socket
import struct
import sys
import time
import urllib.parse
from collections.abc import Sequence
from typing import Any

__all__ = ["HranaClient", "answer", "decode_error", "frame", "read_frame_blocking", "unframe_size"]

HEADER = struct.Struct(">I")
_PR_SET_PDEATHSIG = 1
#: How long a call the server answers "busy" (another writer holds the lock past the
#: server's own short wait) is tried again before it fails as unavailable.
BUSY_PATIENCE = 5.0
_BUSY_MARKS = ("SQLITE_BUSY", "SQLITE_LOCKED", "database is locked")
#: Real seconds one socket operation may wait (in the helper: the parent's own limit, on
#: the whole call, is shorter).
SOCKET_TIMEOUT_S = 60.0
PIPELINE_PATH = "/v3/pipeline"


def _busy(text: str) -> bool:
    """True for the server's "another writer holds the lock" answer (nothing ran)."""
    return any(mark in text for mark in _BUSY_MARKS)


#: Error kinds on the wire: ``unavailable`` (network, server down or stuck), ``config``
#: (the token or the URL was refused), ``statement`` (the server ran the statement and
#: refused it); then the message, and ``not_sent`` (certainly nothing ran: safe to retry).
Wire = tuple[str, str, bool]


class Refused(Exception):
    """A call that failed, as it crosses the pipe (see :data:`Wire`)."""

    def __init__(self, kind: str, message: str, not_sent: bool = False) -> None:
        super().__init__(message)
        self.wire: Wire = (kind, message, not_sent)


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


def decode_error(wire: Wire) -> Exception:
    """The parent's exception for an error that crossed the pipe."""
    from ._errors import JobStoreError, StoreConfigError, StoreUnavailable

    kind, message, not_sent = wire
    if kind == "unavailable":
        return StoreUnavailable(message, not_sent=not_sent)
    if kind == "config":
        return StoreConfigError(message)
    return JobStoreError(message)


# -- Hrana values ------------------------------------------------------------------------


def _arg(value: Any) -> dict[str, Any]:
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool | int):
        return {"type": "integer", "value": str(int(value))}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    if isinstance(value, str):
        return {"type": "text", "value": value}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"type": "blob", "base64": base64.b64encode(bytes(value)).decode().rstrip("=")}
    raise Refused("statement", f"a parameter of type {type(value).__name__} cannot be sent")


def _value(cell: dict[str, Any]) -> Any:
    kind = cell["type"]
    if kind == "null":
        return None
    if kind == "integer":
        return int(cell["value"])
    if kind == "float":
        return float(cell["value"])
    if kind == "text":
        return cell["value"]
    data = cell["base64"]
    return base64.b64decode(data + "=" * (-len(data) % 4))


def _stmt(sql: str, params: Sequence[Any]) -> dict[str, Any]:
    return {"sql": sql, "args": [_arg(p) for p in params], "want_rows": True}


def _rows(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(_value(cell) for cell in row) for row in result["rows"]]


def pipeline_body(ops: Sequence[tuple[str, Sequence[Any]]]) -> dict[str, Any]:
    """One request for a whole call: one statement as it is, several as one transaction
    (each step runs only if the one before succeeded; a failure anywhere rolls back), then
    the stream's close."""
    if len(ops) == 1:
        sql, params = ops[0]
        first: dict[str, Any] = {"type": "execute", "stmt": _stmt(sql, params)}
    else:
        steps: list[dict[str, Any]] = [{"stmt": {"sql": "BEGIN IMMEDIATE"}}]
        for sql, params in ops:
            steps.append({"stmt": _stmt(sql, params), "condition": _ok(len(steps) - 1)})
        commit = len(steps)
        steps.append({"stmt": {"sql": "COMMIT"}, "condition": _ok(commit - 1)})
        steps.append(
            {"stmt": {"sql": "ROLLBACK"}, "condition": {"type": "not", "cond": _ok(commit)}}
        )
        first = {"type": "batch", "batch": {"steps": steps}}
    return {"baton": None, "requests": [first, {"type": "close"}]}


def _ok(step: int) -> dict[str, Any]:
    return {"type": "ok", "step": step}


class HranaClient:
    """One keep-alive HTTP connection to the server; :meth:`execute` runs one call.

    A connection the server closed while idle is noticed before it is used (it reads as
    at end of input) and replaced; a request that could not be written whole never ran
    and is sent once more on a fresh connection. Anything after the request went out
    whole is an unknown outcome for the caller (``not_sent`` False).
    """

    def __init__(self, settings: dict[str, Any]) -> None:
        parts = urllib.parse.urlsplit(settings["url"])
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = parts.path.rstrip("/") + PIPELINE_PATH
        self._token: str | None = settings.get("token")
        self.label: str = settings["label"]
        self._timeout: float = settings.get("timeout", SOCKET_TIMEOUT_S)
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self._timeout)
        conn.connect()
        # A request goes out in one write; its answer must not wait for a delayed ACK.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _headers(self, size: int) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Content-Length": str(size)}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def execute(self, ops: Sequence[tuple[str, Sequence[Any]]]) -> list[list[tuple[Any, ...]]]:
        """Run ``ops`` (all or none if several) in one request; raises :class:`Refused`."""
        body = json.dumps(pipeline_body(ops), allow_nan=False).encode()
        delay, busy_until = 0.001, time.monotonic() + BUSY_PATIENCE
        while True:
            try:
                return _answers(self._post(body), len(ops))
            except Refused as exc:
                kind, message, not_sent = exc.wire
                if not (kind == "unavailable" and not_sent and _busy(message)):
                    raise
                if time.monotonic() >= busy_until:
                    raise
                time.sleep(delay)  # it did not run: try again once the lock is free
                delay = min(delay * 2, 0.05)

    def _post(self, body: bytes) -> dict[str, Any]:
        conn = self._conn
        if conn is not None and _dropped(conn):
            self.close()
            conn = None
        for fresh in (conn is None, True):
            try:
                if self._conn is None:
                    self._conn = self._connect()
                self._conn.request("POST", self._path, body, self._headers(len(body)))
            except OSError as exc:
                self.close()
                if not fresh:
                    continue  # not written whole: it never ran; once more, connected anew
                raise self._unreachable(exc, not_sent=True) from None
            break
        assert self._conn is not None
        try:
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise self._unreachable(exc, not_sent=False) from None
        if response.will_close:
            self.close()
        return self._decoded(response.status, data)

    def _decoded(self, status: int, data: bytes) -> dict[str, Any]:
        text = self._blank(data.decode("utf-8", "replace")[:300])
        if status in (401, 403):
            raise Refused(
                "config",
                f"the libSQL server at {self.label} refused the token ({status}): check "
                "TURSO_AUTH_TOKEN",
            )
        if status == 404:
            raise Refused(
                "config",
                f"no libSQL database answers at {self.label} (404 on {PIPELINE_PATH}): check "
                "TURSO_DATABASE_URL",
            )
        if status != 200:
            # 5xx: the server (or a proxy before it) failed; a 4xx it refused the request.
            kind = "unavailable" if status >= 500 else "statement"
            raise Refused(kind, f"the libSQL server at {self.label} answered {status}: {text}")
        try:
            answer: dict[str, Any] = json.loads(data)
        except ValueError:
            raise Refused(
                "unavailable", f"the libSQL server at {self.label} sent a malformed answer"
            ) from None
        return answer

    def _unreachable(self, exc: BaseException, *, not_sent: bool) -> Refused:
        text = self._blank(f"{type(exc).__name__}: {exc}")
        if not not_sent:
            text += " (after the request was sent: its outcome is unknown)"
        return Refused(
            "unavailable", f"cannot reach the libSQL server at {self.label}: {text}", not_sent
        )

    def _blank(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True if the server closed this idle connection (it is readable: end of input)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _answers(answer: dict[str, Any], count: int) -> list[list[tuple[Any, ...]]]:
    """The rows of each op, from the pipeline's answer; raises :class:`Refused` for the
    first error (a batch that failed was rolled back: nothing of it ran)."""
    results = answer.get("results") or []
    if not results:
        raise Refused("unavailable", "the libSQL server sent an answer without results")
    first = results[0]
    if first.get("type") != "ok":
        raise _refused(first.get("error") or {}, not_sent=True)
    response = first["response"]
    if response["type"] == "execute":
        return [_rows(response["result"])]
    batch = response["result"]
    errors = batch["step_errors"]
    for error in errors:
        if error is not None:
            # BEGIN IMMEDIATE … ROLLBACK: a failed step undid the steps before it.
            raise _refused(error, not_sent=True)
    commit = batch["step_results"][count + 1]
    if commit is None:
        raise Refused("statement", "the libSQL server skipped the transaction's commit")
    return [_rows(batch["step_results"][i + 1]) for i in range(count)]


def _refused(error: dict[str, Any], *, not_sent: bool) -> Refused:
    message = str(error.get("message") or "unknown error")
    code = str(error.get("code") or "")
    text = f"{message} ({code})" if code and code not in message else message
    if _busy(f"{message} {code}"):
        # Another writer held the lock: the statement did not run, nothing was written.
        return Refused(
            "unavailable",
            f"the libSQL server is busy (another writer holds the lock): {text}",
            not_sent,
        )
    return Refused("statement", f"the libSQL server reported: {text}")


def _die_with_parent() -> None:
    # The helper is started from the thread running the parent's Trio loop (or its only
    # thread), which lives as long as the parent: the parent-death signal fires exactly then.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def answer(client: HranaClient, ops: Sequence[tuple[str, Sequence[Any]]]) -> tuple[str, Any]:
    """The reply to one request: ``("ok", rows per op)`` or ``("err", wire)``."""
    try:
        return ("ok", client.execute(ops))
    except Refused as exc:
        return ("err", exc.wire)
    except Exception as exc:  # a bug here must not end the helper silently
        text = client._blank(f"{type(exc).__name__}: {exc}")
        return ("err", ("statement", f"the database helper failed: {text}", False))


def serve(read_fd: int, write_fd: int) -> None:
    """Answer requests until end of input."""
    try:
        client = HranaClient(read_frame_blocking(read_fd))
    except EOFError:
        return
    while True:
        try:
            ops = read_frame_blocking(read_fd)
        except EOFError:
            break
        data = frame(answer(client, ops))
        while data:
            data = data[os.write(write_fd, data) :]
    client.close()


def _main() -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # The protocol's pipes are descriptors of their own (argv), never fd 0, 1 or 2: native
    # code (libsql's tracing under RUST_LOG) writes to those, and its output is dropped.
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    serve(read_fd, write_fd)


if __name__ == "__main__":
    _main()
