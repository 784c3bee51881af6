"""What a handler sees: its job type, its context (stage and progress), its logger."""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import math
import random
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import trio

from stores import InvalidJob, Job, JobStore, JobTypeInfo, Lease

from ._child import Child, open_child
from ._events import Events, JobProgress
from ._running import RunningJob, StopReason

__all__ = ["Handler", "JobContext", "JobType", "JobTypeError", "index_job_types"]

Handler = Callable[["JobContext", Any], Awaitable[Any]]


def _positive(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a positive number of seconds, got {value!r}")


#: The longest retry delay a job type may ask for (a week).
MAX_RETRY_DELAY = 7 * 86_400.0
#: Percentage points progress must move before it is written again. Each write costs the
#: database rows (three on Turso, which bills them); a move of less than a point is a sliver
#: of a progress bar. The stage's last report is written whatever it moved.
PROGRESS_STEP = 1.0


def _seconds(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not (0 <= value <= MAX_RETRY_DELAY):
        raise ValueError(
            f"{attribute.name} must be seconds from 0 to {MAX_RETRY_DELAY:g}, got {value!r}"
        )


class JobTypeError(ValueError):
    """A job type is defined wrongly (a plain ``def`` handler, a name used twice, a stage
    listed twice); raised where it is defined or handed to a worker, never mid-job."""


def _stage_tuple(stages: Iterable[str]) -> tuple[str, ...]:
    return tuple(stages)


def _where(fn: object) -> str:
    """``module.qualname`` of a handler, for messages."""
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    module = getattr(fn, "__module__", None)
    return f"{module}.{name}" if module else name


def _async_handler(job_type: JobType, _: attrs.Attribute[Any], handler: Handler) -> None:
    # A plain `def` would pass start-up and fail every job later ("object is not awaitable").
    # An object whose __call__ is `async def` is a handler too; partials are unwrapped.
    call = getattr(handler, "__call__", None)  # noqa: B004 (the method itself is inspected)
    if not (inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(call)):
        what = "a plain function" if inspect.isfunction(handler) else "not an async function"
        raise JobTypeError(
            f"job type {job_type.name!r}: its handler {_where(handler)} is {what}; "
            "write it as `async def handler(ctx, payload)`"
        )


def _unique_stages(job_type: JobType, _: attrs.Attribute[Any], stages: tuple[str, ...]) -> None:
    for stage in stages:
        if stages.count(stage) > 1:
            raise JobTypeError(
                f"job type {job_type.name!r}: stage {stage!r} is listed twice in its stages "
                f"{stages}"
            )


def _example_payload(job_type: JobType, _: attrs.Attribute[Any], example: Any) -> None:
    # An example nobody can submit would be found out by the first person who tries it.
    if example is None:
        return
    try:
        json.dumps(example, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise JobTypeError(f"job type {job_type.name!r}: its example is not JSON: {exc}") from None
    if job_type.validate is not None:
        try:
            job_type.validate(example)
        except ValueError as exc:
            raise JobTypeError(
                f"job type {job_type.name!r}: its own validate refuses its example: {exc}"
            ) from None


def _percent(value: float | None) -> float | None:
    """``value`` as a percentage from 0 to 100 (clamped), None kept; NaN and infinities
    refused: neither is a measurement, and clamped they would show as 0 % or 100 %."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(
            f"progress must be a finite number from 0 to 100, or None (indeterminate), "
            f"got {number!r}"
        )
    return min(100.0, max(0.0, number))


@attrs.frozen
class JobType:
    """A kind of job a worker can run.

    ``timeout`` bounds one attempt (seconds, None for no limit); ``max_attempts`` is the
    default for jobs created without one (2: retry once); ``stages`` is the ordered list of
    stage names the handler reports; ``progress_watchdog`` (seconds) stops a child process
    that reports no progress for that long (see ``run_ffmpeg``). A retry after a retryable
    failure waits ``retry_delay`` seconds after the first attempt, doubling after each
    further one up to ``max_retry_delay``, each delay jittered by ±20 % so that jobs that
    failed together do not all come back at once (0: retry at once). ``validate`` checks a
    payload (``ValueError`` naming the key): where the CLI or the API holds the type, before
    a job is created; in the worker, before the handler runs (a permanent failure).
    ``example`` is a payload to offer people (the dashboard's form starts with it): JSON,
    and one that ``validate`` accepts, checked where the type is defined.
    """

    name: str
    handler: Handler = attrs.field(validator=_async_handler)
    stages: tuple[str, ...] = attrs.field(
        default=(), converter=_stage_tuple, validator=_unique_stages
    )
    timeout: float | None = attrs.field(default=3600.0, validator=_positive)
    max_attempts: int = 2
    progress_watchdog: float | None = attrs.field(default=None, validator=_positive)
    retry_delay: float = attrs.field(default=10.0, validator=_seconds)
    #: None: 300 s, or ``retry_delay`` if that is longer (a first delay is never cut).
    max_retry_delay: float | None = attrs.field(default=None, validator=_seconds)
    #: The payload check: raises ``ValueError`` naming the key for a payload the type
    #: refuses.
    validate: Callable[[Any], object] | None = None
    #: A payload to show as an example (JSON-serialisable; ``validate`` must accept it).
    example: Any = attrs.field(default=None, validator=_example_payload)

    def retry_delay_after(self, attempt: int) -> float:
        """How long a job waits before its next attempt, after failing attempt ``attempt``."""
        cap = max(300.0, self.retry_delay) if self.max_retry_delay is None else self.max_retry_delay
        base = min(self.retry_delay * 2.0 ** min(max(0, attempt - 1), 30), cap)
        return base * random.uniform(0.8, 1.2)

    def info(self) -> JobTypeInfo:
        return JobTypeInfo(self.name, self.stages, self.max_attempts, self.timeout, self.example)


def index_job_types(job_types: Iterable[JobType] | Mapping[str, JobType]) -> dict[str, JobType]:
    """The job types by name; raises :class:`JobTypeError` for something that is not a
    ``JobType``, two types of one name, or a mapping whose key is not its type's name."""
    pairs = list(
        job_types.items()
        if isinstance(job_types, Mapping)
        else ((getattr(t, "name", None), t) for t in job_types)
    )
    found: dict[str, JobType] = {}
    for key, job_type in pairs:
        if not isinstance(job_type, JobType):
            raise JobTypeError(f"not a JobType: {job_type!r}")
        if key != job_type.name:
            raise JobTypeError(f"job type {job_type.name!r} is filed under the name {key!r}")
        if key in found:
            raise JobTypeError(
                f"two job types are named {key!r} ({_where(found[key].handler)} and "
                f"{_where(job_type.handler)}): give each a name of its own"
            )
        found[key] = job_type
    return found


class JobContext:
    """The handler's view of its job: report stage and progress, log, check the lease.

    Within a stage, progress never goes back: a report below the highest one of the stage
    keeps the highest (ffmpeg's own clock steps back near the end of an encode that copies
    a stream); a new stage starts afresh. NaN and infinities are refused (``ValueError``):
    a percentage that is not a number is a bug in the handler, not a measurement.

    A report is written only when it moved by :data:`PROGRESS_STEP` points or more since
    the last one written (or turned indeterminate, or back), at most one per
    ``progress_interval`` seconds: a watcher sees a move of a point within that time. The
    first report of each stage and the last one before the stage changes or the handler
    returns are always written, exactly. Each write renews the lease (see the heartbeat).

    The log tail (``set_log_tail``: a child's last lines, which ``run_ffmpeg`` keeps) is
    never written on its own: it rides on the next progress write and on the outcome, so a
    chatty child costs no row written (on Turso every row written is billed).
    """

    def __init__(
        self,
        running: RunningJob,
        store: JobStore,
        job_type: JobType,
        *,
        progress_interval: float,
        kill_grace: float,
        nursery: trio.Nursery,
        sentinel_after: float = math.inf,
        events: Events | None = None,
    ) -> None:
        job = running.claimed.job
        self.job: Job = job
        self.lease: Lease = running.claimed.lease
        self.job_type = job_type
        self._running = running
        self.kill_grace = kill_grace
        self.log = logging.LoggerAdapter(
            logging.getLogger(f"supervisor.job.{job.type}"),
            {"job_id": job.id, "attempt": job.attempt},
        )
        self._store = store
        self._sentinel = running.sentinel
        self._events = events
        self._sentinel_after = sentinel_after
        self._interval = progress_interval
        self._nursery = nursery
        self.stage: str | None = None
        self.progress: float | None = None
        #: The highest progress reported in the current stage: no report goes below it.
        self._highest: float | None = None
        self._written: tuple[str | None, float | None] = (None, None)
        self._last_write = -math.inf
        self._flush_scheduled = False
        self.log_tail: str | None = None
        self._tail_written: str | None = None

    def __repr__(self) -> str:
        return f"<JobContext job={self.job.id} type={self.job.type} stage={self.stage}>"

    async def set_stage(self, name: str, progress: float | None = None) -> None:
        """Enter stage ``name`` (from the job type's list), with progress or None."""
        if self.job_type.stages and name not in self.job_type.stages:
            raise InvalidJob(
                f"stage {name!r} is not in the stage list of {self.job_type.name!r}: "
                f"{list(self.job_type.stages)}"
            )
        if name != self.stage:
            percent = _percent(progress)
            await self.flush()  # the last report of the previous stage is never dropped
            self.stage, self.progress, self._highest = name, percent, percent
            await self._write()
        else:
            await self.set_progress(progress)

    async def set_progress(self, percent: float | None) -> None:
        """Progress within the current stage: 0 to 100 (clamped; never below a report
        already made in the stage), or None when it cannot be measured. Raises
        ``ValueError`` for NaN or an infinity."""
        value = _percent(percent)
        if value is not None and self._highest is not None:
            value = max(value, self._highest)
        if value is not None:
            self._highest = value
        self.progress = value
        if not self._moved():
            return  # nothing a watcher would miss; the stage's last report is flushed exactly
        if trio.current_time() - self._last_write >= self._interval:
            await self._write()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self._nursery.start_soon(self._flush_later)

    def set_log_tail(self, text: str) -> None:
        """The child's last lines (a few, newest last), shown with the job: kept here and
        written with the next progress report and with the outcome, never on their own.
        The store keeps the last 20 lines, at most 4 KiB, control characters escaped."""
        self.log_tail = text

    def _moved(self) -> bool:
        """True if the latest report is worth a write: another stage, progress that turned
        measurable or not, or a move of at least a step from the value written."""
        stage, written = self._written
        if stage != self.stage or written is None or self.progress is None:
            return stage != self.stage or written != self.progress
        return abs(self.progress - written) >= PROGRESS_STEP

    async def flush(self) -> None:
        """Write the latest stage and progress if they were not written yet."""
        if self._written != (self.stage, self.progress):
            await self._write()

    async def _flush_later(self) -> None:
        await trio.sleep_until(self._last_write + self._interval)
        self._flush_scheduled = False
        if self._moved():
            await self._write()

    async def _write(self) -> None:
        state = (self.stage, self.progress)
        tail = self.log_tail if self.log_tail != self._tail_written else None
        self._last_write = trio.current_time()
        reply = await self._running.write(
            lambda: self._store.update(
                self.lease, stage=state[0], progress=state[1], log_tail=tail
            ),
            "progress report",
        )
        if reply is None:
            # Not recorded (outage or lost lease, handled by the running job); the next
            # report, or the flush at the end of the stage, writes the latest state.
            return
        new_stage = state[0] != self._written[0]
        self._written = state
        if tail is not None:
            self._tail_written = tail
        if self._events is not None:
            job = self.job
            self._events.emit(
                JobProgress(
                    job_id=job.id,
                    job_type=job.type,
                    attempt=job.attempt,
                    stage=state[0],
                    progress=state[1],
                    new_stage=new_stage,
                )
            )
        if reply.cancel_requested:
            self._running.stop(StopReason.CANCEL_REQUESTED)

    @contextlib.asynccontextmanager
    async def open_child(
        self, argv: Sequence[str], *, capture_stdout: bool = True, capture_stderr: bool = True
    ) -> AsyncIterator[Child]:
        """Start a child process for this job (no shell) and yield it.

        The child is recorded on the job's row, and guarded by the worker's sentinel: if
        the worker goes silent (paused, frozen, killed) the sentinel kills it before another
        worker may take the job. Cancellation: the child is stopped (SIGTERM, the kill
        grace, SIGKILL) and reaped before the cancellation propagates.
        """
        async with open_child(
            argv,
            kill_grace=self.kill_grace,
            capture_stdout=capture_stdout,
            capture_stderr=capture_stderr,
            gated=self._sentinel is not None,
        ) as child:
            try:
                if self._sentinel is not None:
                    # The child is held until the sentinel guards it: a worker frozen
                    # before this point leaves nothing running. Once armed, it runs only if
                    # the sentinel would not kill it at once (the lease is not that silent).
                    guarded = self._sentinel.arm(child.pgid, self._sentinel_after)
                    silent = time.monotonic() - self._running.confirmed.monotonic
                    if guarded and silent < self._sentinel_after:
                        child.release()
                    else:
                        self.log.warning(
                            "child not started: %s",
                            f"the lease was last confirmed {silent:.1f} s ago (the "
                            f"sentinel's limit is {self._sentinel_after:g} s)"
                            if guarded
                            else "no sentinel process could guard it",
                        )
                        child.signal(signal.SIGKILL)
                await self.record_child(child)
                yield child
            finally:
                # Stopped and reaped here, before the sentinel lets go of its group.
                await child.stop(self.kill_grace)
                if self._sentinel is not None:
                    self._sentinel.disarm(child.pgid)
                with trio.CancelScope(shield=True):
                    await self.record_child(None)

    async def record_child(self, child: Child | None) -> None:
        """Record the running child on the row (pid, host, start), or clear it."""
        pid, host, started = (child.pid, child.host, child.started) if child else (None,) * 3
        await self._running.write(
            lambda: self._store.record_child(self.lease, pid=pid, host=host, started=started),
            "recording the child",
        )
