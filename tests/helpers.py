"""Small helpers shared by the worker tests."""

from __future__ import annotations

import os

import trio

from stores import Job, JobStatus, JobStore

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
