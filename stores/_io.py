"""Waiting, inside Trio or outside it: one implementation of each transport for both.

Rationale. The worker runs the store under Trio; a one-shot CLI call (``status``,
``submit``, ``cancel``) should not pay for importing Trio (a tenth of a second) to run one
statement. The store's methods are coroutines that only ever wait through the two
functions here: inside a Trio run they yield to Trio; outside they block the thread
(``time.sleep``, ``select``). :func:`run_sync` drives such a coroutine to completion
without an event loop. Trio itself is imported only when a Trio run is active.
"""

from __future__ import annotations

import select
import sys
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["in_trio", "run_sync", "sleep", "wait_readable", "wait_writable"]

T = TypeVar("T")


def in_trio() -> bool:
    """True inside a Trio run (Trio is never imported here just to find out)."""
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


async def sleep(seconds: float) -> None:
    if in_trio():
        import trio

        await trio.sleep(seconds)
    else:
        time.sleep(seconds)  # noqa: ASYNC251 -- outside Trio nothing else could run meanwhile


async def wait_readable(fd: int, patience: float) -> bool:
    """Wait until ``fd`` is readable; False if ``patience`` real seconds passed first.

    Inside Trio the limit is not applied here (Trio's clock may be a test's mock clock):
    the caller keeps a real-time watchdog instead, and this returns True.
    """
    if in_trio():
        import trio

        await trio.lowlevel.wait_readable(fd)
        return True
    ready, _, _ = select.select([fd], [], [], max(0.0, patience))
    return bool(ready)


async def wait_writable(fd: int) -> None:
    if in_trio():
        import trio

        await trio.lowlevel.wait_writable(fd)
    else:
        select.select([], [fd], [])


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a store coroutine to completion outside any event loop (one-shot scripts).

    Every wait inside it blocks the thread (see the module docstring), so the coroutine
    never suspends; if it tried to (a Trio primitive), this raises RuntimeError.
    """
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("run_sync: the coroutine tried to wait for an event loop")
