"""A handler that blocks the Trio loop gets one warning per block, naming its job and how
long (issue 18 #5). Real time: the watch is a thread measuring the loop from outside."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
import trio

from stores import JobStatus, LocalJobStore
from supervisor import JobContext, JobType, WorkerConfig, open_supervisor


async def blocks(ctx: JobContext, payload: Any) -> None:
    for _ in range(payload["blocks"]):
        time.sleep(payload["seconds"])  # noqa: ASYNC251  (the mistake under test)
        await trio.sleep(0.3)


async def sleeps(ctx: JobContext, payload: Any) -> None:
    await trio.sleep(payload["seconds"])


async def run_one(tmp_path: Path, handler: Any, payload: dict[str, Any]) -> int:
    store = LocalJobStore(tmp_path / "jobs.db")
    job_types = [JobType("blocks", blocks), JobType("sleeps", sleeps)]
    config = WorkerConfig(poll_interval=0.05)
    async with open_supervisor(store, job_types, config):
        job = await store.create(handler.__name__, payload)
        while not (await store.poll(job.id)).status.terminal:
            await trio.sleep(0.05)
    assert (await store.poll(job.id)).status is JobStatus.COMPLETED
    await store.aclose()
    return job.id


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "event loop was blocked" in r.getMessage()
    ]


async def test_a_blocking_handler_is_warned_once_per_block(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = await run_one(tmp_path, blocks, {"blocks": 2, "seconds": 1.6})
    seen = warnings(caplog)
    assert len(seen) == 2
    for line in seen:
        assert f"while job {job_id} ran" in line
        blocked = float(line.split("blocked for about ")[1].split(" s")[0])
        assert 1.5 <= blocked < 4


async def test_a_handler_that_awaits_is_not_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await run_one(tmp_path, sleeps, {"seconds": 2})
    assert warnings(caplog) == []
