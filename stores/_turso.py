"""``TursoJobStore``: a libSQL server (Turso or sqld), one HTTP request per call.

Every call, of one statement or several, is one Hrana pipeline request (see
``stores/_helper.py``). Inside Trio it runs in a helper process: the caller writes the
request to the helper's pipe and waits for the answer on the other pipe, without blocking
the loop. Calls are serialised (one connection). A real-time limit bounds every call,
whatever Trio's clock says (tests run a mock clock): a watchdog thread kills the helper
when a call overruns, which ends the wait with end of input, and the helper is replaced at
the next call. Once sent, a call is shielded from Trio cancellation (a cancelled caller must
not leave a write of unknown outcome), until :meth:`cut_off_at` says the time for waiting
is over.

Outside Trio (a one-shot command: ``status``, ``submit``) nothing else runs and nothing
cancels, so the same client runs in this process, each socket wait bounded by the call
timeout: no helper process is started for one call.
"""

from __future__ import annotations

import fcntl
import math
import os
import pickle
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from . import _io
from ._errors import StoreConfigError, StoreUnavailable
from ._helper import HEADER, HranaClient, answer, decode_error, frame, unframe_size
from ._secrets import child_environ
from ._sql import Ops, Rows, SqlJobStore

__all__ = ["HelperTransport", "TursoJobStore", "parse_url"]

#: Real seconds a database call may take before the store gives up on the connection.
CALL_TIMEOUT_S = 15.0
_SCHEMES = {"libsql": "https", "https": "https", "http": "http"}
_HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_helper.py")
_F_SETPIPE_SZ = 1031


def parse_url(url: str) -> tuple[str, str, int | None, str]:
    """(transport scheme, host, port, path) of a ``libsql://``, ``https://`` or ``http://``
    URL; raises :class:`StoreConfigError` naming what is wrong."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise StoreConfigError(f"malformed database URL {_safe(url)!r}: {exc}") from None
    if parts.scheme not in _SCHEMES:
        raise StoreConfigError(
            f"unsupported database URL scheme {parts.scheme!r} in {_safe(url)!r}: use "
            "libsql:// (TLS), https:// or http://"
        )
    if not parts.hostname:
        raise StoreConfigError(f"the database URL {_safe(url)!r} names no host")
    if parts.username or parts.password:
        raise StoreConfigError(
            "the database URL must not carry credentials: pass the token as TURSO_AUTH_TOKEN"
        )
    if parts.query and "authToken" in parts.query:
        raise StoreConfigError(
            "the database URL must not carry the token: pass it as TURSO_AUTH_TOKEN"
        )
    return _SCHEMES[parts.scheme], parts.hostname, port, parts.path.strip("/")


def _safe(url: str) -> str:
    """The URL without anything that could be a secret (user info and query)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class _Watchdog:
    """One thread that kills the helper when a call overruns its real-time limit."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: tuple[float, subprocess.Popen[bytes]] | None = None
        self.fired = False
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, proc: subprocess.Popen[bytes]) -> None:
        with self._cond:
            self.fired = False
            self._armed = (time.monotonic() + seconds, proc)
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name="store-watchdog")
                self._thread.daemon = True
                self._thread.start()
            self._cond.notify()

    def disarm(self) -> None:
        with self._cond:
            self._armed = None

    def _main(self) -> None:
        with self._cond:
            while True:
                if self._armed is None:
                    self._cond.wait()
                    continue
                deadline, proc = self._armed
                left = deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._armed, self.fired = None, True
                proc.kill()  # the caller sees end of input


class _Helper:
    """One helper process and the parent's ends of its two protocol pipes.

    The protocol never runs on the helper's stdin/stdout: native code in the helper (libsql's
    tracing under ``RUST_LOG``, a library's stray print) writes to fd 1 and 2, and one such
    line on the answer stream made every call wait for a frame that never came ("no answer
    within 15 s", blaming the server). So requests and answers travel on pipes of their own,
    passed as extra descriptors, and the helper's fds 0, 1 and 2 are /dev/null: that output
    could carry the token (a request's headers), so it is dropped, not relayed.
    """

    def __init__(self, proc: subprocess.Popen[bytes], send_fd: int, reply_fd: int) -> None:
        self.proc, self.send_fd, self.reply_fd = proc, send_fd, reply_fd

    @classmethod
    def spawn(cls) -> _Helper:
        # The token reaches the helper over its pipe only; no secret goes into its environment.
        env = child_environ()
        request_r, request_w = os.pipe2(os.O_CLOEXEC)
        reply_r, reply_w = os.pipe2(os.O_CLOEXEC)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", _HELPER, str(request_r), str(reply_w)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(request_r, reply_w),
                env=env,
            )
        except BaseException:
            for fd in (request_w, reply_r):
                os.close(fd)
            raise
        finally:
            os.close(request_r)
            os.close(reply_w)
        for fd in (request_w, reply_r):
            try:  # a whole request or answer fits in the pipe: writes do not block
                fcntl.fcntl(fd, _F_SETPIPE_SZ, 1 << 20)
            except OSError:
                pass
            os.set_blocking(fd, False)
        return cls(proc, request_w, reply_r)

    def end(self) -> None:
        """Kill the process, close the pipes, reap it."""
        self.proc.kill()
        for fd in (self.send_fd, self.reply_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.send_fd = self.reply_fd = -1
        self.proc.wait()


class HelperTransport:
    """The parent's end of the helper process; see the module docstring."""

    def __init__(self, settings: dict[str, Any], label: str, timeout: float) -> None:
        self._settings = settings
        self.label = label
        self.call_timeout = timeout
        self._proc: _Helper | None = None
        self._watchdog = _Watchdog()
        self._lock: Any = None  # a trio.Lock, made on first use inside Trio
        self._cutoff = math.inf
        self._in_flight: set[Any] = set()
        self._busy = False  # a call is between writing its request and reading its answer
        self._here: HranaClient | None = None  # the one-shot calls' client, in this process
        self.generation = 0  # always the same database (the URL's)

    # -- the helper process --------------------------------------------------------------

    def _start(self) -> _Helper:
        helper = _Helper.spawn()
        self._proc = helper
        self._write(helper, frame(self._settings))
        return helper

    def _discard(self, helper: _Helper) -> None:
        if self._proc is helper:
            self._proc = None
        helper.end()

    def _write(self, helper: _Helper, data: bytes) -> None:
        fd, view = helper.send_fd, memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except BlockingIOError:  # only past the 1 MiB pipe: finished below by blocking
            os.set_blocking(fd, True)
            try:
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.set_blocking(fd, False)

    async def _read_exact(self, fd: int, size: int, deadline: float) -> bytes:
        chunks, left = [], size
        while left:
            try:
                chunk = os.read(fd, left)
            except BlockingIOError:
                if not await _io.wait_readable(fd, deadline - time.monotonic()):
                    raise TimeoutError from None
                continue
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    async def _call(self, ops: Ops) -> Rows:
        proc = self._proc
        if proc is None or proc.proc.poll() is not None:
            proc = self._start()
        deadline = time.monotonic() + self.call_timeout
        self._watchdog.arm(self.call_timeout, proc.proc)  # only ever called inside Trio
        self._busy = True
        try:
            try:
                self._write(proc, frame(list(ops)))
                header = await self._read_exact(proc.reply_fd, HEADER.size, deadline)
                body = await self._read_exact(proc.reply_fd, unframe_size(header), deadline)
            finally:
                self._watchdog.disarm()
                self._busy = False
        except (EOFError, TimeoutError, OSError) as exc:
            self._discard(proc)
            if self._watchdog.fired or isinstance(exc, TimeoutError):
                raise StoreUnavailable(
                    f"{self.label}: no answer from the database within {self.call_timeout:g} s "
                    "(the server is unreachable or stuck); the outcome of this call is unknown"
                ) from None
            raise StoreUnavailable(
                f"{self.label}: the database helper process ended (exit {proc.proc.returncode}); "
                "the outcome of the call is unknown"
            ) from exc
        reply = pickle.loads(body)
        if reply[0] == "ok":
            rows: Rows = reply[1]
            return rows
        raise decode_error(reply[1])

    # -- the transport -------------------------------------------------------------------

    async def run(self, ops: Ops) -> Rows:
        """Run ``ops`` in order on the helper's connection.

        Cancellation: while waiting for an earlier call, cancellable (nothing was sent);
        once sent, shielded until it answers, times out, or the cut-off passes.
        """
        if not _io.in_trio():  # a one-shot call: nothing else waits, nothing cancels
            return self._call_here(ops)
        import trio

        if self._lock is None:
            self._lock = trio.Lock()
        async with self._lock:
            if trio.current_time() >= self._cutoff:
                raise StoreUnavailable(f"{self.label}: cut off (shutting down); nothing was sent")
            with trio.CancelScope(shield=True, deadline=self._cutoff) as scope:
                self._in_flight.add(scope)
                try:
                    rows = await self._call(ops)
                finally:
                    self._in_flight.discard(scope)
            if scope.cancelled_caught:
                if self._proc is not None:
                    self._discard(self._proc)
                raise StoreUnavailable(
                    f"{self.label}: cut off (shutting down) before the database answered; "
                    "the outcome of this call is unknown"
                )
        return rows

    def _call_here(self, ops: Ops) -> Rows:
        if self._here is None:
            self._here = HranaClient({**self._settings, "timeout": self.call_timeout})
        reply = answer(self._here, ops)
        if reply[0] == "ok":
            rows: Rows = reply[1]
            return rows
        raise decode_error(reply[1])

    def condition(self) -> str | None:
        return None  # the server's own troubles come back as the answers to calls

    def cut_off_at(self, deadline: float) -> None:
        self._cutoff = deadline
        for scope in self._in_flight:
            scope.deadline = min(scope.deadline, deadline)

    def close(self) -> None:
        """End the helper at once (it holds nothing worth flushing). A call in flight sees
        end of input and cleans up after itself; this never blocks the caller."""
        here, self._here = self._here, None
        if here is not None:
            here.close()
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.proc.kill()
        if not self._busy:
            self._discard(proc)


class TursoJobStore(SqlJobStore):
    """Jobs in a libSQL database over the network (Turso Cloud, or a local ``sqld``).

    ``libsql://`` means TLS (as ``https://``); ``http://`` is for a local sqld. Inside
    Trio the connection lives in a helper process (see ``stores/_helper.py`` for why). The
    token is kept out of URLs, argv, the environment of child processes, reprs, logs and
    errors.
    """

    def __init__(
        self,
        url: str,
        auth_token: str | None = None,
        *,
        clock: Callable[[], float] | None = None,
        timeout: float = CALL_TIMEOUT_S,
    ) -> None:
        scheme, host, port, path = parse_url(url)
        if url.startswith("libsql://") and not auth_token:
            raise StoreConfigError(
                f"{_safe(url)} is a Turso URL but no token was given: set TURSO_AUTH_TOKEN "
                "(create one with `turso db tokens create DB`)"
            )
        if auth_token and not all(33 <= ord(c) < 127 for c in auth_token):
            raise StoreConfigError(
                "TURSO_AUTH_TOKEN holds a space, a line break or another character a token "
                "cannot have: copy the token again without them"
            )
        self.url = _safe(url)
        self._token = auth_token or None
        target = f"{scheme}://{host}{f':{port}' if port else ''}{'/' + path if path else ''}"
        settings = {"url": target, "token": self._token, "label": self.url}
        super().__init__(HelperTransport(settings, "turso job store", timeout), clock=clock)

    def __repr__(self) -> str:
        token = "set" if self._token else "none"
        return f"<TursoJobStore url={self.url!r} token={token}>"
