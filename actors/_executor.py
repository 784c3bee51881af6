"""The executor: runs one job at a time in its own cancel scope, and records the outcome.

Rationale. A run's end is decided in two steps, each a table in one place:

1. :func:`decide` turns how the run ended (an :class:`Ending`) into a :class:`Verdict`:
   which write to make (an ``Outcome`` of the store's state machine), with what error kind
   and whether the attempt is charged. Only the worker's own stops (shutdown, self-fence)
   and store trouble refund an attempt; everything the handler did is charged.
2. The store's transition table (``stores/_transitions.py``) decides what the row becomes
   (retried, failed, cancelled, back to pending); its SQL is compiled from that table.

Whatever a handler raises or returns ends in a recorded, charged verdict, never in a crash
of the executor: an exception whose message cannot be read, a ``BaseException`` of the
handler's own, ``sys.exit()``, a result that cannot be stored. Only a cancellation from
outside the job (the worker stopping) and ``KeyboardInterrupt`` go on up. If the executor
itself fails mid-job, the job is released *charged*, so that no job can loop through
crashes for free: a poison job fails after its attempts, and the queue behind it moves.

Writing a verdict may fail. An outage is retried (the writes are idempotent for one lease)
until the deadline, then left to the reaper. Any other failure to write it falls back to a
charged verdict (:data:`_INSTEAD`): a completion whose result cannot be stored fails
permanently, anything else becomes a charged release.
"""

from __future__ import annotations

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
    LeaseLost,
    Outcome,
    StoreUnavailable,
)

from ._context import JobContext, JobType
from ._errors import chosen, classify, describe, telling
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

__all__ = ["Ending", "ExecutorSettings", "Verdict", "decide", "executor"]

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
    set). ``untrusted``: store trouble left the lease unconfirmed long enough for a guard
    to act (``RunningJob.outcome_untrusted``), now or earlier in the run."""

    result: Any = None
    error: ErrorKind | None = None
    stop: StopReason | None = None
    #: The handler's error message, or why the job was stopped.
    detail: str = ""
    untrusted: bool = False
    #: The error's one telling line, if the handler named one (``PermanentError(detail=)``).
    telling: str | None = None
    #: The child's last lines as the run ended (``JobContext.set_log_tail``).
    log_tail: str | None = None


@attrs.frozen
class Verdict:
    """What to write for a run that ended: an outcome of the store's state machine (which
    decides what the row becomes), or nothing (``outcome`` None: the lease was lost)."""

    outcome: Outcome | None
    detail: str = ""
    result: Any = None
    kind: ErrorKind | None = None
    #: Whether the attempt counts. Only for a release is it ever False.
    charged: bool = True
    #: For a failure that is retried: how long the job waits first (the type's backoff).
    retry_delay: float = 0.0
    #: Written with a completion or a failure (see ``Ending``).
    telling: str | None = None
    log_tail: str | None = None


#: How a stop ends a run: the outcome, its error kind, and whether the attempt is charged.
_STOPS: Mapping[StopReason, tuple[Outcome | None, ErrorKind | None, bool]] = {
    StopReason.CANCEL_REQUESTED: (Outcome.CANCELLED, None, True),
    StopReason.TIMEOUT: (Outcome.FAILED, ErrorKind.TIMEOUT, True),
    StopReason.LEASE_LOST: (None, None, False),  # someone else holds the job
    StopReason.SHUTDOWN: (Outcome.RELEASED, None, False),  # not the job's doing
    StopReason.SELF_FENCE: (Outcome.RELEASED, None, False),
}


def decide(ending: Ending) -> Verdict:
    """The verdict for ``ending`` (see the module docstring)."""
    if ending.stop is not None:
        outcome, kind, charged = _STOPS[ending.stop]
        detail = ending.detail
        if ending.stop is StopReason.LEASE_LOST:
            detail = f"lease lost: {detail}"
        elif outcome is Outcome.RELEASED:
            detail = f"{ending.stop.value}: {detail}".rstrip(": ")
        return Verdict(outcome, detail, kind=kind, charged=charged, log_tail=ending.log_tail)
    if ending.error is None:
        return Verdict(Outcome.COMPLETED, result=ending.result, log_tail=ending.log_tail)
    if ending.untrusted:  # the sentinel may have killed the child: not the job's error
        detail = f"outcome not trusted, database unreachable meanwhile: {ending.detail}"
        return Verdict(Outcome.RELEASED, detail, charged=False)
    return Verdict(
        Outcome.FAILED,
        ending.detail,
        kind=ending.error,
        telling=ending.telling,
        log_tail=ending.log_tail,
    )


def _instead(verdict: Verdict, exc: Exception) -> Verdict:
    """What to write when ``verdict`` could not be written for a reason that is not an
    outage (the database refused it): always charged, never refunded."""
    if verdict.outcome is Outcome.COMPLETED:
        return Verdict(Outcome.FAILED, f"bad result: {exc}", kind=ErrorKind.PERMANENT)
    if verdict.outcome is Outcome.RELEASED and verdict.charged:
        return Verdict(None, f"outcome could not be recorded: {exc}")
    return Verdict(Outcome.RELEASED, f"outcome could not be recorded: {describe(exc)}")


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
    running = RunningJob(claimed, sent, settings.sentinel, patience=settings.patience)
    if settings.sentinel is not None:
        settings.sentinel.beat(sent.monotonic)
    slot.set(running)
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
        verdict = decide(ending)
        if job_type is not None and verdict.outcome is Outcome.FAILED:
            verdict = attrs.evolve(verdict, retry_delay=job_type.retry_delay_after(job.attempt))
        return await _record(store, running, verdict, settings)
    except BaseException as exc:
        # Nothing recorded: the handler's scopes have exited, so its child is reaped. A
        # stop from outside (the worker stopping, Ctrl-C) gives the job back uncharged;
        # anything else is this executor failing over this job, and is charged, so that a
        # job which breaks its executor cannot loop through restarts for free.
        charged = not _from_outside(exc)
        reason = (
            f"the executor failed mid-job: {describe(exc)}"
            if charged
            else "the executor stopped mid-job"
        )
        await _give_back(store, running, reason, charged, settings)
        raise
    finally:
        slot.set(None)


def _from_outside(exc: BaseException) -> bool:
    """Whether ``exc`` stops the executor for reasons that are not the job's: a
    ``Cancelled`` (the job's own scopes catch theirs before this point, so any that gets
    here is from outside) or Ctrl-C, alone or grouped with what the clean-up raised."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.subgroup((trio.Cancelled, KeyboardInterrupt)) is not None
    return isinstance(exc, trio.Cancelled | KeyboardInterrupt)


async def _give_back(
    store: JobStore, running: RunningJob, reason: str, charged: bool, settings: ExecutorSettings
) -> None:
    """Release the job (shielded, bounded by the final-write deadline)."""
    with trio.CancelScope(shield=True), _final_writes(settings):
        try:
            released = await store.release(running.claimed.lease, reason, charge_attempt=charged)
            verdict = Verdict(Outcome.RELEASED, reason, charged=charged)
            _emit_ended(settings.events, released, verdict, running.claimed.job.attempt)
        except JobStoreError as exc:
            log.error("job not released (the reaper will retry it): %s", exc, extra=running.extra)


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
                    if job_type.validate is not None:
                        job_type.validate(job.payload)
                    result = await job_type.handler(ctx, job.payload)
                except Exception as exc:
                    ending = _raised(exc, running)
                except BaseException as exc:
                    ending = _escaped(exc, running, ours=(running.scope, deadline))
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
        return Ending(stop=running.stop_reason, detail=running.stop_detail, log_tail=ctx.log_tail)
    untrusted = running.outcome_untrusted(
        trio.current_time(), settings.fence_after, settings.sentinel_after
    )
    return attrs.evolve(ending, untrusted=untrusted, log_tail=ctx.log_tail)


def _raised(exc: BaseException, running: RunningJob) -> Ending:
    """The ending of a handler that raised ``exc``: its kind by the documented default, its
    type kept in the reason, and its traceback in the log unless the handler chose the
    verdict itself (``TransientError``, ``PermanentError``)."""
    detail = describe(exc)
    if not chosen(exc):
        log.error("the handler raised %s", detail, exc_info=exc, extra=running.extra)
    return Ending(error=classify(exc), detail=detail, telling=telling(exc))


def _escaped(exc: BaseException, running: RunningJob, ours: tuple[trio.CancelScope, ...]) -> Ending:
    """The ending of a handler that raised something other than an ``Exception``.

    A ``Cancelled`` goes on up: the job's own scopes (``ours``: its timeout, a stop) catch
    theirs, and one from outside the job (the worker stopping) gives the job back, whatever
    the handler's clean-up raised beside it. ``KeyboardInterrupt`` goes on up, grouped or
    not. Anything else is the handler's failure, permanent and charged: ``SystemExit`` (a
    handler calling ``sys.exit``), a ``BaseException`` of its own (``GeneratorExit``
    included), or errors raised while one of the job's own scopes was cancelling it, which
    come out grouped with the ``Cancelled``. Letting those escape would crash the executor
    on every run: a poison job looping for ever.
    """
    if isinstance(exc, trio.Cancelled | KeyboardInterrupt):
        raise exc
    if isinstance(exc, BaseExceptionGroup):
        if exc.subgroup(KeyboardInterrupt) is not None:
            raise exc
        cancelled, rest = exc.split(trio.Cancelled)
        if rest is None:
            raise exc
        if cancelled is not None and not any(scope.cancel_called for scope in ours):
            raise exc  # stopped from outside: its clean-up's errors are not the verdict
        exc = rest.exceptions[0] if len(rest.exceptions) == 1 else rest
    ending = _raised(exc, running)
    return attrs.evolve(
        ending, error=ErrorKind.PERMANENT, detail=f"the handler raised {ending.detail}"
    )


def _final_writes(settings: ExecutorSettings) -> trio.CancelScope:
    """A scope bounding the final writes by ``fence_after`` and the shutdown deadline (at
    which the store also abandons a call in flight)."""
    return trio.move_on_at(
        min(trio.current_time() + settings.fence_after, settings.write_deadline())
    )


async def _record(
    store: JobStore, running: RunningJob, verdict: Verdict, settings: ExecutorSettings
) -> Taken | None:
    """Write the verdict; while the database is unreachable, try again every heartbeat
    interval at most, for as long as the lease may still be this worker's: until the write
    lands, the lease turns out lost (another worker reaped the job: the write is fenced),
    or the shutdown deadline. Giving up earlier would leave a finished job to the reaper,
    which would charge it. A verdict the database refuses is replaced by a charged one."""
    extra = running.extra
    running.finished = True  # no child any more: nothing for the fence to stop
    with trio.CancelScope(shield=True):
        delay = 0.1
        while trio.current_time() < settings.write_deadline():
            try:
                return await _write(store, running.claimed, verdict, settings)
            except StoreUnavailable as exc:
                log.warning("outcome not recorded yet, retrying: %s", exc, extra=extra)
                delay = min(delay * 2, settings.patience)
                with trio.move_on_at(settings.write_deadline()):
                    await trio.sleep(delay)
            except LeaseLost as exc:
                log.warning("outcome not recorded, lease lost: %s", exc, extra=extra)
                return None
            except Exception as exc:  # refused (a result or text it cannot take), or a bug
                what = verdict.outcome.value if verdict.outcome else "nothing"
                log.error("outcome %s not recorded: %s", what, describe(exc), extra=extra)
                verdict = _instead(verdict, exc)
    log.error(
        "outcome not recorded before the shutdown deadline, database unavailable; "
        "the reaper will retry the job",
        extra=extra,
    )
    return None


async def _write(
    store: JobStore, claimed: Claimed, verdict: Verdict, settings: ExecutorSettings
) -> Taken | None:
    """Write ``verdict``; a completion claims the next job in the same request."""
    lease = claimed.lease
    outcome, detail = verdict.outcome, verdict.detail
    claim_as = settings.claim_as
    taken: Taken | None = None
    if outcome is Outcome.COMPLETED and claim_as is not None and settings.may_claim():
        sent = Confirmation.now()
        job, following = await store.complete_and_claim(
            lease,
            verdict.result,
            claim_as.worker_id,
            types=claim_as.types,
            log_tail=verdict.log_tail,
        )
        taken = (following, sent) if following is not None else None
    elif outcome is Outcome.COMPLETED:
        job = await store.complete(lease, verdict.result, log_tail=verdict.log_tail)
    elif outcome is Outcome.FAILED:
        job = await store.fail(
            lease,
            detail,
            kind=verdict.kind or ErrorKind.PERMANENT,
            retry_delay=verdict.retry_delay,
            detail=verdict.telling,
            log_tail=verdict.log_tail,
        )
    elif outcome is Outcome.CANCELLED:
        job = await store.confirm_cancelled(lease)
    elif outcome is Outcome.RELEASED:
        job = await store.release(lease, detail, charge_attempt=verdict.charged)
    else:
        log.warning("job stopped, nothing recorded: %s", detail, extra={"job_id": lease.job_id})
        return None
    _emit_ended(settings.events, job, verdict, claimed.job.attempt)
    return taken


def _emit_ended(events: Events, job: Job, verdict: Verdict, attempt: int) -> None:
    """The event for run ``attempt`` of a job whose end the database recorded as ``job``
    (whose own attempt an uncharged release has already given back)."""
    ids: dict[str, Any] = {"job_id": job.id, "job_type": job.type, "attempt": attempt}
    took = max(0.0, (job.finished_at or job.updated_at) - (job.started_at or job.created_at))
    outcome = verdict.outcome
    if outcome is Outcome.COMPLETED:
        events.emit(JobCompleted(**ids, duration=took))
    elif outcome is Outcome.CANCELLED:
        events.emit(JobCancelled(**ids, duration=took))
    elif outcome is Outcome.FAILED:
        event = JobRetried if job.status is JobStatus.PENDING else JobFailed
        kind = str(verdict.kind)
        events.emit(event(**ids, error=verdict.detail, error_kind=kind, duration=took))
    else:
        events.emit(
            JobReleased(
                **ids, reason=verdict.detail, status=job.status.value, charged=verdict.charged
            )
        )
