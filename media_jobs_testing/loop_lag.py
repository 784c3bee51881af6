"""An asyncio app's loop lag while the database stalls (issue 18 #3), for
tests/test_client.py and benchmarks/client_lag.py."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from stores import run_sync

if TYPE_CHECKING:  # the package loads it lazily, so name it for the type checker
    from stores._turso import TursoJobStore
else:
    from stores import TursoJobStore

from .sqld import SqldServer


def a_job_on(sqld: SqldServer) -> int:
    """A pending job on ``sqld``, made through the store (a `serve` with no live worker
    takes none through the API)."""
    store = TursoJobStore(sqld.url)
    try:
        return run_sync(store.create("sleep", {"seconds": 0})).id
    finally:
        run_sync(store.aclose())


async def lag_during_stall(
    call: Callable[[], Awaitable[object]], sqld: SqldServer, stall: float
) -> tuple[float, float]:
    """Run inside ``asyncio.run``: the loop's worst lag (s) while ``sqld`` is stopped
    (SIGSTOP) for ``stall`` seconds and the app keeps making ``call``; and the longest a
    call took (s), which shows the stall was real."""
    worst, longest = 0.0, 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not stop.is_set():
            before = time.monotonic()
            await asyncio.sleep(0.01)
            worst = max(worst, time.monotonic() - before - 0.01)

    async def caller() -> None:
        nonlocal longest
        while not stop.is_set():
            before = time.monotonic()
            try:
                await call()
            except Exception:  # a 503 while the database is away: the app's to handle
                pass
            longest = max(longest, time.monotonic() - before)
            await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(ticker()), asyncio.create_task(caller())]
    await asyncio.sleep(0.5)
    assert sqld.proc is not None
    os.kill(sqld.proc.pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(stall)
    finally:
        os.kill(sqld.proc.pid, signal.SIGCONT)
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*tasks)
    return worst, longest
