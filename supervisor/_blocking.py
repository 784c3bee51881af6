"""A warning when something blocks the Trio loop (a handler's ``time.sleep(8)``, a
blocking read, a CPU-bound loop).

Rationale. While the loop is blocked nothing else runs: no heartbeat, no cancel check, no
child supervision; a long enough block costs the lease. Such code runs without an error,
so it is noticed here instead: a thread pings the loop with ``TrioToken.run_sync_soon``
and, when a ping goes unanswered for over ``threshold`` seconds, waits for the answer and
logs one WARNING for that block, naming the job that was running and how long the block
lasted. (A block that never ends logs nothing; the worker's silence does: its lease goes
stale and the reaper takes the job back.) The figure is from the loop's last answer,
so it is high by at most the ping interval (0.1 s). The thread touches nothing of the
worker but the callable it is given.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

import trio

__all__ = ["BLOCK_THRESHOLD", "watch_loop"]

log = logging.getLogger("supervisor")

#: A loop that has not answered for this long (seconds) is blocked.
BLOCK_THRESHOLD = 1.0
_INTERVAL = 0.1


def _watch(
    token: trio.lowlevel.TrioToken,
    job_id: Callable[[], int | None],
    stop: threading.Event,
    threshold: float,
) -> None:
    alive = time.monotonic()  # when the loop last answered
    while not stop.wait(_INTERVAL):
        answered = threading.Event()
        try:
            token.run_sync_soon(answered.set)
        except trio.RunFinishedError:
            return
        if not answered.wait(threshold):
            running = job_id()  # at the block: the job whose code is most likely blocking
            while not answered.wait(_INTERVAL):
                if stop.is_set():
                    return
            _warn(time.monotonic() - alive, running)
        alive = time.monotonic()


def _warn(blocked: float, running: int | None) -> None:
    where = f"while job {running} ran" if running is not None else "with no job running"
    log.warning(
        "the event loop was blocked for about %.1f s %s: blocking code in an async handler "
        "(time.sleep, a blocking read, heavy CPU) stops heartbeats and cancels; use "
        "trio.sleep or trio.to_thread.run_sync (docs/HANDLERS.md)",
        blocked,
        where,
        extra={"job_id": running},
    )


@contextlib.contextmanager
def watch_loop(
    job_id: Callable[[], int | None], threshold: float = BLOCK_THRESHOLD
) -> Iterator[None]:
    """Watch the current Trio loop while inside; ``job_id`` says which job is running."""
    stop = threading.Event()
    thread = threading.Thread(
        target=_watch,
        args=(trio.lowlevel.current_trio_token(), job_id, stop, threshold),
        name="loop-watch",
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()  # not joined: that would block the loop it watches; it ends within 1 s
