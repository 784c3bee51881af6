"""The executor: runs one job at a time in its own cancel scope, and records the outcome.

Rationale. How a run ended and what the row should say are decided in one place,
:func:`decide`, a pure function over a closed set of cases, so the rules read in one spot:

============================  =======================================================
the run ended                  the row
============================  =======================================================
with a result                  completed (fenced: a worker that lost the lease writes
                               nothing)
with a handler error           failed, or pending again if transient with attempts left;
                               given back uncharged instead if the lease was lost to
                               *store trouble* meanwhile (the sentinel may have killed
                               the child: the error is not the job's)
stopped: cancel requested      cancelled, after the child is confirmed dead
stopped: timeout               a transient ``timeout`` failure naming the limit
stopped: lease lost            nothing (someone else holds the job)
stopped: shutdown, self-fence  given back to pending, attempt refunded
or executor crash
============================  =======================================================

Writing it may fail. An outage is retried (the writes are idempotent for one lease) until
the deadline, then left to the reaper. Any other failure to write an outcome is the job's
(a result that is not JSON, text the database cannot take): it falls back to a permanent
failure, then to a charged release. Nothing but a shutdown, a self-fence or a crash of the
worker itself refunds an attempt.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import trio

from stores import (
    Claimed,
    ErrorKind,
    Job,
    JobStatus,
    JobStore,
    JobStoreError,
    Lease,
    LeaseLost,
    StoreUnavailable,
)

from ._context import JobContext, JobType
from ._errors import classify
from ._events import (
    Events,
    JobCancelled,
    JobClaimed,
    JobCompleted,
    JobFailed,
    JobReleased,
    JobRetried,
)
from ._poller import Handoff, PollerSettings
from ._running import Confirmation, JobSlot, RunningJob, StopReason
from ._sentinel import Sentinel

__all__ = ["Action", "Decision", "Ending", "ExecutorSettings", "decide", "executor"]

log = logging.getLogger("supervisor.executor")


def _no_deadline() -> float:
    return float("inf")


@attrs.frozen
class ExecutorSettings:
    progress_interval: float
    kill_grace: float
    #: Silence (no confirmed lease) after which the lease is not trusted; also how long an
    #: outcome write is retried while the database is down.
    fence_after: float
    #: How long a write may wait for its answer before it counts as store trouble.
    patience: float = 5.0
    sentinel_after: float = float("inf")
    sentinel: Sentinel | None = None
    #: Trio time by which final writes must end (the supervisor's shutdown deadline).
    write_deadline: Callable[[], float] = _no_deadline
    #: Who claims and what (the poller's settings): a completion then claims the next job
    #: in the same request, while ``may_claim()`` says the worker is not stopping.
    claim_as: PollerSettings | None = None
    may_claim: Callable[[], bool] = lambda: False
    #: Where the executor reports what happened (logs and metrics subscribe there).
    events: Events = attrs.field(factory=Events)


@attrs.frozen
class Ending:
    """How a run ended: a result, a handler error (``error`` set), or a stop (``stop``
    set). ``untrusted``: the lease went unconfirmed because of store trouble."""

    result: Any = None
    error: ErrorKind | None = None
    stop: StopReason | None = None
    #: The handler's error message, or why the job was stopped.
    detail: str = ""
    untrusted: bool = False


class Action(enum.Enum):
    """What the executor writes when a run ends."""

    COMPLETE = "complete"
    FAIL = "fail"
    CANCELLED = "cancelled"
    RELEASE = "release"
    NOTHING = "nothing"


@attrs.frozen
class Decision:
    """What to write for a run that ended."""

    action: Action
    detail: str = ""
    result: Any = None
    kind: ErrorKind | None = None
    #: For a release: whether the attempt counts (never for shutdown or store trouble).
    charge: bool = False


def decide(ending: Ending) -> Decision:
    """The outcome to record for ``ending`` (see the table in the module docstring)."""
    stop, detail = ending.stop, ending.detail
    if stop is StopReason.CANCEL_REQUESTED:
        return Decision(Action.CANCELLED)
    if stop is StopReason.LEASE_LOST:
        return Decision(Action.NOTHING, f"lease lost: {detail}")
    if stop is StopReason.TIMEOUT:
        return Decision(Action.FAIL, detail, kind=ErrorKind.TIMEOUT)
    if stop is not None:  # shutdown, self-fence, crash: not the job's doing
        return Decision(Action.RELEASE, f"{stop.value}: {detail}".rstrip(": "))
    if ending.error is None:
        return Decision(Action.COMPLETE, result=ending.result)
    if ending.untrusted:
        return Decision(
            Action.RELEASE, f"outcome not trusted, database unreachable meanwhile: {detail}"
        )
    return Decision(Action.FAIL, detail, kind=ending.error)


def _fallback(decision: Decision, exc: JobStoreError) -> Decision:
    """What to write when ``decision`` could not be written for a reason that is not an
    outage: always charged, never refunded."""
    if decision.action is Action.COMPLETE:
        return Decision(Action.FAIL, f"bad result: {exc}", kind=ErrorKind.PERMANENT)
    if decision.action is Action.RELEASE and decision.charge:
        return Decision(Action.NOTHING, f"outcome could not be recorded: {exc}")
    return Decision(Action.RELEASE, f"outcome could not be recorded: {exc}", charge=True)


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
    killed and reaped, then the row is released to pending (no attempt charged, unless the
    run's own outcome was a charged one) before the cancellation propagates. Shielded, and
    bounded by ``fence_after`` and the shutdown deadline.
    """
    task_status.started()
    taken: Taken | None = None
    handoff: Handoff | None = None
    try:
        while True:
            if taken is None:
                handoff = Handoff()
                await requests.send(handoff)
                taken = await handoff.take()
                handoff = None
            else:
                # Claimed beside the last completion (see _write); same checks as the poller's.
                await trio.lowlevel.checkpoint()
            if taken is not None:
                current, taken = taken, None
                taken = await _run(store, job_types, slot, *current, settings)
    finally:
        if taken is None and handoff is not None:
            taken = handoff.unclaimed()  # offered in the instant this task was cancelled
        if taken is not None:  # claimed for us, never started: give it back uncharged
            with trio.CancelScope(shield=True), _final_writes(settings):
                try:
                    await store.give_back(taken[0].lease, "the executor stopped before starting it")
                except JobStoreError as exc:
                    log.error("claimed job not released (the reaper will): %s", exc)


#: A claimed job and when its claim was sent (its lease's first confirmation).
Taken = tuple[Claimed, Confirmation]


async def _run(
    store: JobStore,
    job_types: Mapping[str, JobType],
    slot: JobSlot,
    claimed: Claimed,
    sent: Confirmation,
    settings: ExecutorSettings,
) -> Taken | None:
    """Run one job and record its outcome; returns the next job if one was claimed with it."""
    job = claimed.job
    running = RunningJob(claimed, sent, settings.sentinel)
    if settings.sentinel is not None:
        settings.sentinel.beat(sent.monotonic)
    slot.set(running)
    decision: Decision | None = None
    recorded = False
    try:
        settings.events.emit(
            JobClaimed(
                job_id=job.id,
                job_type=job.type,
                attempt=job.attempt,
                queue_wait=max(0.0, (job.started_at or job.created_at) - job.created_at),
            )
        )
        job_type = job_types.get(job.type)
        if job_type is None:
            ending = Ending(
                error=ErrorKind.PERMANENT,
                detail=f"this worker has no handler for job type {job.type!r}",
            )
        else:
            ending = await _call_handler(store, running, job_type, settings)
        decision = decide(ending)
        taken = await _record(store, running, decision, settings)
        recorded = True
        return taken
    finally:
        slot.set(None)
        if not recorded:
            # Cancelled from outside (crash or stop): the child is already reaped (the
            # handler's scopes exited); give the row back.
            charge = decision is not None and (decision.action is Action.FAIL or decision.charge)
            with trio.CancelScope(shield=True), _final_writes(settings):
                try:
                    reason = "the executor stopped mid-job"
                    released = await store.release(claimed.lease, reason, charge_attempt=charge)
                    _emit_ended(settings.events, released, Decision(Action.RELEASE, reason))
                except JobStoreError as exc:
                    log.error(
                        "job not released (the reaper will retry it): %s", exc, extra=running.extra
                    )


async def _call_handler(
    store: JobStore, running: RunningJob, job_type: JobType, settings: ExecutorSettings
) -> Ending:
    job = running.claimed.job
    async with trio.open_nursery() as nursery:  # holds the context's delayed progress flush
        ctx = JobContext(
            running,
            store,
            job_type,
            progress_interval=settings.progress_interval,
            kill_grace=settings.kill_grace,
            nursery=nursery,
            sentinel_after=settings.sentinel_after,
            events=settings.events,
        )
        ending: Ending
        with running.scope:
            timeout = job_type.timeout if job_type.timeout is not None else float("inf")
            with trio.move_on_after(timeout) as deadline:
                try:
                    result = await job_type.handler(ctx, job.payload)
                except Exception as exc:
                    ending = Ending(error=classify(exc), detail=str(exc) or type(exc).__name__)
                except BaseException as exc:
                    ending = _escaped(exc, ours=(running.scope, deadline))
                else:
                    ending = Ending(result=result)
            if deadline.cancel_called:
                running.stop(
                    StopReason.TIMEOUT,
                    f"timeout: exceeded the {timeout:g} s limit of job type {job_type.name!r}",
                )
        if running.stop_reason is None and ending.error is None:
            with trio.CancelScope(shield=True):
                await ctx.flush()  # the last progress report is never dropped
        nursery.cancel_scope.cancel()
    if running.stop_reason is not None:
        # Whatever the handler did on the way out, why it was stopped is the outcome.
        return Ending(stop=running.stop_reason, detail=running.stop_detail)
    untrusted = running.outcome_untrusted(
        trio.current_time(), settings.fence_after, settings.patience
    )
    return attrs.evolve(ending, untrusted=untrusted)


def _escaped(exc: BaseException, ours: tuple[trio.CancelScope, ...]) -> Ending:
    """The ending of a handler that raised something other than an ``Exception``.

    A cancellation from outside the job (the worker stopping, the executor crashing) goes
    on up: the job is given back. Anything else is the handler's failure and is charged:
    ``SystemExit`` (a handler calling ``sys.exit``), or errors raised while the job's own
    scopes (its timeout, a stop) were cancelling it, which come out grouped with the
    ``Cancelled``. Letting those escape would release the job uncharged and crash the
    executor, on every run: a poison job looping for ever.
    """
    if isinstance(exc, KeyboardInterrupt | GeneratorExit):
        raise exc
    if isinstance(exc, trio.Cancelled) or not any(scope.cancel_called for scope in ours):
        if not isinstance(exc, SystemExit):
            raise exc
    if isinstance(exc, BaseExceptionGroup):
        _, rest = exc.split(trio.Cancelled)
        if rest is None:
            raise exc
        exc = rest.exceptions[0] if len(rest.exceptions) == 1 else rest
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return Ending(error=ErrorKind.PERMANENT, detail=f"the handler raised {what}")


def _final_writes(settings: ExecutorSettings) -> trio.CancelScope:
    """A scope bounding the final writes by ``fence_after`` and the shutdown deadline (at
    which the store also abandons a call in flight)."""
    return trio.move_on_at(
        min(trio.current_time() + settings.fence_after, settings.write_deadline())
    )


async def _record(
    store: JobStore, running: RunningJob, decision: Decision, settings: ExecutorSettings
) -> Taken | None:
    """Write the outcome; while the database is unreachable, try again every heartbeat
    interval at most, for as long as the lease may still be this worker's: until the write
    lands, the lease turns out lost (another worker reaped the job: the write is fenced),
    or the shutdown deadline. Giving up earlier would leave a finished job to the reaper,
    which would charge it."""
    extra = running.extra
    running.finished = True  # no child any more: nothing for the fence to stop
    with trio.CancelScope(shield=True):
        delay = 0.1
        while trio.current_time() < settings.write_deadline():
            try:
                return await _write(store, running.claimed.lease, decision, settings)
            except StoreUnavailable as exc:
                log.warning("outcome not recorded yet, retrying: %s", exc, extra=extra)
                delay = min(delay * 2, settings.patience)
                with trio.move_on_at(settings.write_deadline()):
                    await trio.sleep(delay)
            except LeaseLost as exc:
                log.warning("outcome not recorded, lease lost: %s", exc, extra=extra)
                return None
            except JobStoreError as exc:
                log.error("outcome %s not recorded: %s", decision.action.value, exc, extra=extra)
                decision = _fallback(decision, exc)
    log.error(
        "outcome not recorded before the shutdown deadline, database unavailable; "
        "the reaper will retry the job",
        extra=extra,
    )
    return None


async def _write(
    store: JobStore, lease: Lease, decision: Decision, settings: ExecutorSettings
) -> Taken | None:
    """Write ``decision``; a completion claims the next job in the same request."""
    action, detail = decision.action, decision.detail
    claim_as = settings.claim_as
    taken: Taken | None = None
    if action is Action.COMPLETE and claim_as is not None and settings.may_claim():
        sent = Confirmation.now()
        job, claimed = await store.complete_and_claim(
            lease, decision.result, claim_as.worker_id, types=claim_as.types
        )
        taken = (claimed, sent) if claimed is not None else None
    elif action is Action.COMPLETE:
        job = await store.complete(lease, decision.result)
    elif action is Action.FAIL:
        assert decision.kind is not None
        job = await store.fail(lease, detail, kind=decision.kind)
    elif action is Action.CANCELLED:
        job = await store.confirm_cancelled(lease)
    elif action is Action.RELEASE:
        job = await store.release(lease, detail, charge_attempt=decision.charge)
    else:
        log.warning("job stopped, nothing recorded: %s", detail, extra={"job_id": lease.job_id})
        return None
    _emit_ended(settings.events, job, decision)
    return taken


def _emit_ended(events: Events, job: Job, decision: Decision) -> None:
    """The event for a run whose end the database recorded as ``job``."""
    ids: dict[str, Any] = {"job_id": job.id, "job_type": job.type, "attempt": job.attempt}
    took = max(0.0, (job.finished_at or job.updated_at) - (job.started_at or job.created_at))
    action = decision.action
    if action is Action.COMPLETE:
        events.emit(JobCompleted(**ids, duration=took))
    elif action is Action.CANCELLED:
        events.emit(JobCancelled(**ids, duration=took))
    elif action is Action.FAIL and job.status is JobStatus.PENDING:
        kind = str(decision.kind)
        events.emit(JobRetried(**ids, error=decision.detail, error_kind=kind, duration=took))
    elif action is Action.FAIL:
        kind = str(decision.kind)
        events.emit(JobFailed(**ids, error=decision.detail, error_kind=kind, duration=took))
    else:
        events.emit(
            JobReleased(
                **ids, reason=decision.detail, status=job.status.value, charged=decision.charge
            )
        )
