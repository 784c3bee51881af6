"""What a running job writes: progress only when it moved, the lease renewed by those writes,
a heartbeat only in their gaps; within a budget of rows an hour (Turso bills each row)."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from actors import JobContext, JobType
from media_jobs_testing.helpers import fast_config, wait_for_status
from stores import JobStatus, LocalJobStore
from supervisor import WorkerConfig, open_supervisor

#: Rows sqld counts for one lease write (the row, the running index, the change stamp's
#: index: see docs/OPERATIONS.md "What it costs").
ROWS_PER_WRITE = 3
#: How stale the progress a watcher reads may be, in seconds, for a move of a point or more.
WATCHER_LAG = 2.0


#: The one ``store`` fixture (conftest), on the local file, writing Trio's virtual time.
pytestmark = pytest.mark.store(backends=("local",), clock="trio")


def counted(store: LocalJobStore) -> list[tuple[float, str, float | None]]:
    """Record every lease write the worker makes: (Trio time, what, progress)."""
    writes: list[tuple[float, str, float | None]] = []
    update, heartbeat = store.update, store.heartbeat

    async def counting_update(lease: Any, *, stage: Any, progress: Any, **rest: Any) -> Any:
        writes.append((trio.current_time(), "update", progress))
        return await update(lease, stage=stage, progress=progress, **rest)

    async def counting_heartbeat(lease: Any) -> Any:
        writes.append((trio.current_time(), "heartbeat", None))
        return await heartbeat(lease)

    store.update = counting_update  # type: ignore[method-assign]
    store.heartbeat = counting_heartbeat  # type: ignore[method-assign]
    return writes


async def creep(ctx: JobContext, payload: Any) -> None:
    """Moves by less than a point at a time, then a point and a half, then a little more."""
    await ctx.set_stage("working", 0)
    for tenth in range(1, 10):
        await trio.sleep(1.0)
        await ctx.set_progress(tenth / 10)
    await trio.sleep(1.0)
    await ctx.set_progress(1.5)
    await trio.sleep(1.0)
    await ctx.set_progress(1.7)


async def test_progress_is_written_when_it_moved_a_point_and_exactly_at_the_end(
    store: LocalJobStore, autojump_clock: trio.testing.MockClock
) -> None:
    """Reports that move less than a percentage point are not written; one that moves a point
    is; the last report, whatever it moved, is written when the handler returns."""
    writes = counted(store)
    types = [JobType("creep", creep, stages=("working",))]
    async with open_supervisor(store, types, fast_config(heartbeat_interval=5.0)):
        job = await store.create("creep")
        await wait_for_status(store, job.id, JobStatus.COMPLETED)
    assert [p for _, what, p in writes if what == "update"] == [0, 1.5, 1.7]


HOUR = 3600.0


async def steady(ctx: JobContext, payload: Any) -> None:
    """ffmpeg's pace: a report every 0.5 s, from 0 to 100 % over an hour; at each report,
    checks what a watcher reading the database would see."""
    store: LocalJobStore = payload["store"]
    began = trio.current_time()
    await ctx.set_stage("working", 0)
    while (elapsed := trio.current_time() - began) < HOUR:
        await ctx.set_progress(elapsed / HOUR * 100)
        seen = await store.get(ctx.job.id)
        assert seen is not None and seen.progress is not None
        due = max(0.0, elapsed - WATCHER_LAG) / HOUR * 100 - 1.0
        payload["lag"] = max(payload["lag"], due - seen.progress)
        await trio.sleep(0.5)


async def test_an_hour_of_steady_progress_fits_the_row_budget(
    store: LocalJobStore, autojump_clock: trio.testing.MockClock
) -> None:
    """At default settings, a job reporting progress every 0.5 s for an hour makes at most
    500 lease writes (1,500 rows on Turso), and a watcher never sees progress more than a
    point behind what was reported 2 s before."""
    writes = counted(store)
    ran: dict[str, Any] = {}

    async def run(ctx: JobContext, _: Any) -> None:
        box = {"lag": 0.0, "store": store}
        await steady(ctx, box)
        ran["lag"] = box["lag"]

    types = [JobType("steady", run, stages=("working",), timeout=2 * HOUR)]
    async with open_supervisor(store, types, WorkerConfig(worker_id="w-budget")):
        job = await store.create("steady")
        await wait_for_status(store, job.id, JobStatus.COMPLETED, poll=5.0)
    assert len(writes) * ROWS_PER_WRITE <= 1500, len(writes)
    assert ran["lag"] <= 0.0
