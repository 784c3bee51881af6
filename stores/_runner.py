"""Runs blocking database work off the Trio loop, on a thread that owns one session.

Rationale. Both drivers block, and ``libsql`` neither times out nor releases the GIL while
it waits on the network (measured: a server that accepts but never answers freezes every
thread of the process). So:

* a *session* is one open connection with a way to interrupt it from another thread: the
  local store's is in-process (sqlite3 releases the GIL and can be interrupted), the Turso
  store's is a helper process that owns the libsql connection (killing it always works);
* one daemon thread per store owns the session and runs requests in order, so thousands of
  calls reuse one thread and one connection;
* the Trio side waits with a *real-time* timeout (a mock clock in tests must not make the
  server look slow); on expiry the caller gets :class:`StoreUnavailable`, the session is
  interrupted and abandoned, and the next call opens a new one;
* sessions heal themselves after a broken connection (the helper reconnects; a local
  SQLite connection does not break), so the runner only replaces a session it abandoned;
* a started request is shielded from Trio cancellation: it completes (or times out) before
  the caller sees ``Cancelled``, so a cancelled caller never leaves a write whose outcome is
  unknown while the database answers. Only the request in flight is shielded: a caller
  cancelled while queued behind another call never sends its statement (a cancelled poller
  must not claim a job and then have to give it back).
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import trio

from ._errors import StoreUnavailable

__all__ = ["ConnectionRunner", "Op", "Rows", "Session"]

#: One statement to run: its name in the statement registry, and its parameters.
Op = tuple[str, dict[str, Any]]
#: The rows each op returned, as plain dicts (they cross a process boundary).
Rows = list[list[dict[str, Any]]]

_STOP = object()


class Session(Protocol):
    def execute(self, ops: Sequence[Op]) -> Rows: ...

    def interrupt(self) -> None:
        """Called from another thread: make a stuck ``execute`` return or raise soon."""

    def close(self) -> None: ...


class _Request:
    __slots__ = ("done", "error", "ops", "rows")

    def __init__(self, ops: Sequence[Op]) -> None:
        self.ops = ops
        self.done = threading.Event()
        self.rows: Rows = []
        self.error: Exception | None = None


class _SessionThread:
    """A daemon thread owning at most one open session."""

    def __init__(self, name: str, open_session: Callable[[], Session]) -> None:
        self._open = open_session
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._session: Session | None = None
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    def submit(self, request: _Request) -> None:
        self._queue.put(request)

    def stop(self) -> None:
        self._queue.put(_STOP)

    def interrupt(self) -> None:
        with self._lock:
            session = self._session
        if session is not None:
            session.interrupt()

    def _main(self) -> None:
        try:
            while (item := self._queue.get()) is not _STOP:
                self._serve(item)
        finally:
            self._drop()

    def _serve(self, request: _Request) -> None:
        try:
            if self._session is None:
                session = self._open()
                with self._lock:
                    self._session = session
            request.rows = self._session.execute(request.ops)
        except Exception as exc:  # handed to the waiting caller and raised there
            request.error = exc
        finally:
            request.done.set()

    def _drop(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            try:
                session.close()
            except Exception:  # already unusable: closing is best effort
                pass


class ConnectionRunner:
    """Serialises requests onto one session-owning thread; see the module docstring."""

    def __init__(self, name: str, open_session: Callable[[], Session], *, timeout: float):
        self._name = name
        self._open = open_session
        self.timeout = timeout
        self._lock = threading.Lock()
        self._worker: _SessionThread | None = None
        self._closed = False
        self._generation = 0
        # One request at a time reaches the session thread; the others queue here, in Trio.
        self._limiter = trio.CapacityLimiter(1)
        # Trio time after which calls are abandoned (see cut_off_at), and the scopes of the
        # calls in flight, whose deadline it moves.
        self._cutoff = math.inf
        self._in_flight: set[trio.CancelScope] = set()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._worker else "idle")
        return f"<ConnectionRunner {self._name} {state} sessions={self._generation}>"

    def call(self, ops: Sequence[Op]) -> Rows:
        """Run ``ops`` on the session thread and wait for them (blocking, real time)."""
        timeout = self.timeout
        with self._lock:
            if self._closed:
                raise StoreUnavailable(f"{self._name}: the store is closed")
            if self._worker is None:
                self._generation += 1
                self._worker = _SessionThread(f"{self._name}-db-{self._generation}", self._open)
            worker = self._worker
        request = _Request(ops)
        worker.submit(request)
        if not request.done.wait(timeout):
            self._abandon(worker)
            raise StoreUnavailable(
                f"{self._name}: no answer from the database within {timeout:g} s "
                "(the server is unreachable or stuck); the outcome of this call is unknown"
            )
        if request.error is not None:
            raise request.error
        return request.rows

    async def run(self, ops: Sequence[Op]) -> Rows:
        """Run ``ops`` off the Trio loop.

        Cancellation: while queued behind other calls, cancellable (nothing was sent). Once
        sent, shielded: the request completes (or times out after ``timeout`` real seconds)
        before this returns; a pending cancellation is delivered at the caller's next
        checkpoint.
        """
        async with self._limiter:
            if trio.current_time() >= self._cutoff:
                raise StoreUnavailable(f"{self._name}: cut off (shutting down); nothing was sent")
            with trio.CancelScope(shield=True, deadline=self._cutoff) as scope:
                self._in_flight.add(scope)
                try:
                    rows = await trio.to_thread.run_sync(self.call, ops, abandon_on_cancel=True)
                finally:
                    self._in_flight.discard(scope)
            if scope.cancelled_caught:
                with self._lock:
                    worker = self._worker
                if worker is not None:
                    self._abandon(worker)
                raise StoreUnavailable(
                    f"{self._name}: cut off (shutting down) before the database answered; "
                    "the outcome of this call is unknown"
                )
        return rows

    def cut_off_at(self, deadline: float) -> None:
        """From Trio time ``deadline`` on, calls in flight are abandoned (their outcome is
        unknown) and new ones fail at once: a shutdown must end before the platform kills
        the process, whatever the database does. Call from the Trio thread."""
        self._cutoff = deadline
        for scope in self._in_flight:
            scope.deadline = min(scope.deadline, deadline)

    def _abandon(self, worker: _SessionThread) -> None:
        with self._lock:
            if self._worker is worker:
                self._worker = None
        worker.stop()
        worker.interrupt()

    def close(self, timeout: float = 5.0) -> None:
        """Close the session and stop the thread; later calls raise StoreUnavailable."""
        with self._lock:
            self._closed = True
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
            worker.thread.join(timeout)
            if worker.thread.is_alive():
                worker.interrupt()
                worker.thread.join(timeout)
