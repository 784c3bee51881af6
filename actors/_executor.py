"""The executor: runs one job at a time in its own cancel scope, and records the outcome."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import attrs
import trio

from stores import (
    Claimed,
    ErrorKind,
    InvalidJob,
    JobStatus,
    JobStore,
    JobStoreError,
    Lease,
    LeaseLost,
    StoreUnavailable,
)

from ._context import JobContext, JobType
from ._errors import classify
from ._poller import Handoff
from ._running import JobSlot, RunningJob, StopReason
from ._sentinel import Sentinel

__all__ = ["ExecutorSettings", "executor"]

log = logging.getLogger("supervisor.executor")


@attrs.frozen
class ExecutorSettings:
    progress_interval: float
    kill_grace: float
    #: Silence (no confirmed lease) after which an outcome is not trusted (see
    #: _call_handler); also how long the final write is retried while the database is down.
    fence_after: float
    sentinel_after: float = float("inf")
    sentinel: Sentinel | None = None


@attrs.frozen
class Outcome:
    """How a run ended: a result, a handler error (``error`` set), or a stop (``stop`` set)."""

    result: Any = None
    error: ErrorKind | None = None
    stop: StopReason | None = None
    #: The handler's error message, or why the job was stopped.
    detail: str = ""


async def executor(
    store: JobStore,
    job_types: Mapping[str, JobType],
    slot: JobSlot,
    requests: trio.MemorySendChannel[Handoff],
    settings: ExecutorSettings,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Ask the poller for a job, run it, record the outcome; forever.

    Cancellation (a crash of this actor, or the worker stopping): the running job's child is
    killed and reaped, then the row is released to pending (no attempt charged) before the
    cancellation propagates. Shielded and bounded by ``fence_after``.
    """
    task_status.started()
    while True:
        handoff = Handoff()
        await requests.send(handoff)
        claimed = await handoff.take()
        if claimed is not None:
            await _run(store, job_types, slot, claimed, settings)


async def _run(
    store: JobStore,
    job_types: Mapping[str, JobType],
    slot: JobSlot,
    claimed: Claimed,
    settings: ExecutorSettings,
) -> None:
    job = claimed.job
    extra = {"job_id": job.id, "attempt": job.attempt, "job_type": job.type}
    running = RunningJob(claimed)
    slot.set(running)
    recorded = False
    try:
        log.info("job started", extra=extra)
        job_type = job_types.get(job.type)
        if job_type is None:
            outcome = Outcome(
                error=ErrorKind.PERMANENT,
                detail=f"this worker has no handler for job type {job.type!r}",
            )
        else:
            outcome = await _call_handler(store, running, job_type, settings)
        await _record(store, running, outcome, settings, extra)
        recorded = True
    finally:
        slot.set(None)
        if not recorded:
            # Cancelled from outside (crash or stop): the child is already reaped (the
            # handler's scopes exited); give the row back without charging an attempt.
            with trio.CancelScope(shield=True), trio.move_on_after(settings.fence_after):
                try:
                    await store.release(claimed.lease, "the executor stopped mid-job")
                    log.warning("job released: executor stopped mid-job", extra=extra)
                except JobStoreError as exc:
                    log.error("job not released (the reaper will retry it): %s", exc, extra=extra)


async def _call_handler(
    store: JobStore, running: RunningJob, job_type: JobType, settings: ExecutorSettings
) -> Outcome:
    job = running.claimed.job
    async with trio.open_nursery() as nursery:  # holds the context's delayed progress flush
        ctx = JobContext(
            running,
            store,
            job_type,
            progress_interval=settings.progress_interval,
            kill_grace=settings.kill_grace,
            nursery=nursery,
            sentinel=settings.sentinel,
            sentinel_after=settings.sentinel_after,
        )
        outcome: Outcome
        with running.scope:
            timeout = job_type.timeout if job_type.timeout is not None else float("inf")
            with trio.move_on_after(timeout) as deadline:
                try:
                    result = await job_type.handler(ctx, job.payload)
                except Exception as exc:
                    outcome = Outcome(error=classify(exc), detail=str(exc) or type(exc).__name__)
                else:
                    outcome = Outcome(result=result)
            if deadline.cancelled_caught:
                running.stop(
                    StopReason.TIMEOUT,
                    f"timeout: exceeded the {timeout:g} s limit of job type {job_type.name!r}",
                )
        silent = trio.current_time() - running.last_beat
        if running.stop_reason is None and silent >= settings.fence_after:
            # The worker was cut off (frozen, or the database unreachable) for longer than the
            # lease is safe: the sentinel may have killed the child, or another worker may be
            # about to take the job. Whatever the handler reported, give the job back.
            running.stop(
                StopReason.SELF_FENCE,
                f"no heartbeat recorded for {silent:.1f} s when the job ended",
            )
        if running.stop_reason is None and outcome.error is None:
            with trio.CancelScope(shield=True):
                await ctx.flush()  # the last progress report is never dropped
        nursery.cancel_scope.cancel()
    if running.stop_reason is not None:
        # Whatever the handler did on the way out, why it was stopped is the outcome.
        return Outcome(stop=running.stop_reason, detail=running.stop_detail)
    return outcome


async def _record(
    store: JobStore,
    running: RunningJob,
    outcome: Outcome,
    settings: ExecutorSettings,
    extra: dict[str, Any],
) -> None:
    lease = running.claimed.lease
    with trio.CancelScope(shield=True):
        with trio.move_on_after(settings.fence_after):
            delay = 0.2
            while True:
                try:
                    await _write_outcome(store, lease, outcome, extra)
                    return
                except StoreUnavailable as exc:
                    log.warning("outcome not recorded yet, retrying: %s", exc, extra=extra)
                    await trio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                except LeaseLost as exc:
                    log.warning("outcome not recorded, lease lost: %s", exc, extra=extra)
                    return
        log.error(
            "outcome not recorded: database unavailable; the reaper will retry the job", extra=extra
        )


async def _write_outcome(
    store: JobStore, lease: Lease, outcome: Outcome, extra: dict[str, Any]
) -> None:
    reason, detail = outcome.stop, outcome.detail
    if reason is StopReason.CANCEL_REQUESTED:
        await store.confirm_cancelled(lease)
        log.info("job cancelled, child confirmed dead", extra=extra)
    elif reason is StopReason.TIMEOUT:
        job = await store.fail(lease, detail, kind=ErrorKind.TIMEOUT)
        log.warning("job timed out (%s): %s", job.status, detail, extra=extra)
    elif reason is StopReason.LEASE_LOST:
        log.warning("job stopped, lease lost: %s", detail, extra=extra)
    elif reason is not None:
        await store.release(lease, f"{reason.value}: {detail}".rstrip(": "))
        log.warning("job released: %s: %s", reason.value, detail, extra=extra)
    elif outcome.error is not None:
        job = await store.fail(lease, detail, kind=outcome.error)
        verdict = "will retry" if job.status is JobStatus.PENDING else "failed"
        log.warning("job %s: %s (%s)", verdict, detail, outcome.error, extra=extra)
    else:
        try:
            await store.complete(lease, outcome.result)
        except InvalidJob as exc:  # e.g. a result that is not JSON: the handler's bug
            await store.fail(lease, f"bad result: {exc}", kind=ErrorKind.PERMANENT)
            log.error("job failed: bad result: %s", exc, extra=extra)
            return
        log.info("job completed", extra=extra)
