"""Runs blocking database calls off the Trio loop, on a thread that owns the connection.

Rationale. Both drivers block, and ``libsql`` has no network timeout of its own: a call to a
server that accepted the connection but never answers blocks forever. So:

* one daemon thread per store owns the connection and runs calls in order (a connection is
  never shared between threads, and thousands of calls reuse one connection and one thread);
* the Trio side waits for a call in a ``trio.to_thread`` helper with a *real-time* timeout
  (a mock clock in tests must not make the server look slow); when it expires the caller
  gets :class:`StoreUnavailable` and the stuck thread is abandoned: it closes its connection
  and exits whenever the driver returns, and the next call opens a fresh connection;
* a call that fails because the connection broke (server restarted, baton expired) drops
  the connection, so the next call reconnects;
* a started call is shielded from Trio cancellation: it runs to completion (or to the
  timeout), so a cancelled caller never leaves a write whose outcome is unknown while the
  database is reachable. Cancellation is delivered at the caller's next checkpoint.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
import trio

from ._errors import StoreUnavailable

__all__ = ["ConnectionRunner"]

T = TypeVar("T")

_STOP = object()


class _Call(Generic[T]):
    __slots__ = ("done", "error", "fn", "value")

    def __init__(self, fn: Callable[[sa.Connection], T]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


class _ConnectionThread:
    """A daemon thread owning at most one open connection."""

    def __init__(
        self,
        name: str,
        connect: Callable[[], sa.Connection],
        is_broken: Callable[[BaseException], bool],
    ) -> None:
        self._connect = connect
        self._is_broken = is_broken
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._conn: sa.Connection | None = None
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    def submit(self, call: _Call[Any]) -> None:
        self._queue.put(call)

    def stop(self) -> None:
        self._queue.put(_STOP)

    def _main(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                self._run(item)
        finally:
            self._drop()

    def _run(self, call: _Call[Any]) -> None:
        try:
            if self._conn is None:
                self._conn = self._connect()
            call.value = call.fn(self._conn)
        except BaseException as exc:  # handed to the waiting caller, re-raised there
            call.error = exc
            if self._is_broken(exc):
                self._drop()
        finally:
            call.done.set()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # the connection is already unusable; closing is best effort
                pass


class ConnectionRunner:
    """Serialises calls onto one connection-owning thread; see the module docstring."""

    def __init__(
        self,
        name: str,
        connect: Callable[[], sa.Connection],
        *,
        timeout: float,
        is_broken: Callable[[BaseException], bool],
    ) -> None:
        self._name = name
        self._connect = connect
        self._timeout = timeout
        self._is_broken = is_broken
        self._lock = threading.Lock()
        self._worker: _ConnectionThread | None = None
        self._closed = False
        self._generation = 0
        # One call at a time reaches the connection thread; others wait here, in Trio.
        self._limiter = trio.CapacityLimiter(1)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._worker else "idle")
        return f"<ConnectionRunner {self._name} {state} generation={self._generation}>"

    @property
    def timeout(self) -> float:
        return self._timeout

    def call(self, fn: Callable[[sa.Connection], T]) -> T:
        """Run ``fn(connection)`` on the connection thread and wait (blocking, real time)."""
        with self._lock:
            if self._closed:
                raise StoreUnavailable(f"{self._name}: the store is closed")
            if self._worker is None:
                self._generation += 1
                self._worker = _ConnectionThread(
                    f"{self._name}-db-{self._generation}", self._connect, self._is_broken
                )
            worker = self._worker
        pending: _Call[T] = _Call(fn)
        worker.submit(pending)
        if not pending.done.wait(self._timeout):
            self._abandon(worker)
            raise StoreUnavailable(
                f"{self._name}: no answer from the database within {self._timeout:g} s "
                "(the server is unreachable or stuck); the outcome of this call is unknown"
            )
        if pending.error is not None:
            raise pending.error
        return pending.value  # type: ignore[return-value]

    async def run(self, fn: Callable[[sa.Connection], T]) -> T:
        """Run ``fn(connection)`` off the Trio loop.

        Cancellation: the call is shielded; once started it completes (or times out after
        ``timeout`` real seconds) before this returns, and a pending cancellation is then
        delivered at the caller's next checkpoint.
        """
        with trio.CancelScope(shield=True):
            return await trio.to_thread.run_sync(self.call, fn, limiter=self._limiter)

    def _abandon(self, worker: _ConnectionThread) -> None:
        with self._lock:
            if self._worker is worker:
                self._worker = None
        # The thread exits (and closes its connection) once the stuck call returns.
        worker.stop()

    def close(self, timeout: float = 5.0) -> None:
        """Close the connection and stop the thread; later calls raise StoreUnavailable."""
        with self._lock:
            self._closed = True
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
            worker.thread.join(timeout)
