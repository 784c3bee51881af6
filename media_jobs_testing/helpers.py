"""Small helpers shared by tests and benchmarks: the repository, clocks, timings, waits."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from stores import Job, JobStatus, JobStore
from supervisor import WorkerConfig

#: The repository's root (the work tree the tests run in).
REPO = Path(__file__).resolve().parent.parent


class WallClock:
    """The wall clock the store writes, under the test's control."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


#: What the ``store_factory`` fixture gives: each call, a new store on the test's database.
StoreFactory = Callable[[], JobStore]

#: The wall clock the worker tests' stores write: virtual time from a fixed start.
WALL0 = 1_800_000_000.0
#: Worker timings the worker tests run with (under a MockClock).
FAST: dict[str, Any] = dict(
    poll_interval=1.0,
    max_poll_interval=5.0,
    heartbeat_interval=2.0,
    stale_after=20.0,
    reaper_interval=5.0,
    shutdown_grace=10.0,
    kill_grace=1.0,
    progress_interval=0.5,
)


def trio_wall() -> float:
    return WALL0 + trio.current_time()


def fast_config(**overrides: Any) -> WorkerConfig:
    return WorkerConfig(worker_id="w-test", **{**FAST, **overrides})


#: The keys every poll view carries (store, CLI `status --json`, the HTTP API).
POLL_KEYS = {
    "id",
    "type",
    "status",
    "stage",
    "stages",
    "progress",
    "indeterminate",
    "queue_position",
    "attempt",
    "error",
    "error_kind",
    "created_at",
    "updated_at",
}


async def wait_for_status(
    store: JobStore, job_id: int, status: JobStatus, *, poll: float = 0.05
) -> Job:
    """Poll until the job has ``status`` (the caller bounds the wait)."""
    while True:
        job = await store.get(job_id)
        assert job is not None
        if job.status is status:
            return job
        if job.status.terminal:
            raise AssertionError(f"job {job_id} ended {job.status.value}: {job.error}")
        await trio.sleep(poll)


def pid_alive(pid: int | None) -> bool:
    """True if ``pid`` runs (a zombie counts as dead: it has exited)."""
    if pid is None:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        return os.path.exists(f"/proc/{pid}")
