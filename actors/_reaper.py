"""The reaper: every worker runs one; stale running jobs go back to pending or fail."""

from __future__ import annotations

import logging

import trio

from stores import JobStore, StoreUnavailable

__all__ = ["reaper"]

log = logging.getLogger("supervisor.reaper")


async def reaper(
    store: JobStore,
    *,
    interval: float,
    stale_after: float,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Every ``interval`` seconds, run the store's reap (one idempotent statement).

    Cancellation: safe at any point; a reap either happened or did not.
    """
    task_status.started()
    while True:
        try:
            reaped = await store.reap(stale_after)
        except StoreUnavailable:
            pass  # the store logs the outage; the next round reaps what this one missed
        else:
            for job in reaped:
                log.warning(
                    "reaped job: %s",
                    job.error or job.status.value,
                    extra={"job_id": job.id, "attempt": job.attempt, "status": job.status.value},
                )
        await trio.sleep(interval)
