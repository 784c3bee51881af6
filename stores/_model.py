"""Values the store hands out: jobs, leases, the poll view, history entries and workers."""

from __future__ import annotations

import enum
import time
from typing import Any

import attrs

__all__ = [
    "DEAD_AFTER_BEATS",
    "DEAD_WORKER_KEPT",
    "TERMINAL",
    "ErrorKind",
    "HeartbeatReply",
    "HistoryEntry",
    "Job",
    "JobStatus",
    "JobView",
    "Lease",
    "Worker",
    "WorkerInfo",
    "served_types",
]

#: A worker is live while its last beat is younger than this many of its own beat
#: intervals (three: one late round trip or one missed round is not death).
DEAD_AFTER_BEATS = 3
#: Seconds a dead worker's row is kept (shown as dead, its beat age in metrics) before a
#: reaper round sweeps it; a clean shutdown deletes the row at once.
DEAD_WORKER_KEPT = 3600.0


class JobStatus(enum.StrEnum):
    """The five states of a job; ``completed``, ``failed`` and ``cancelled`` are terminal."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class ErrorKind(enum.StrEnum):
    """Why a run ended badly (which kinds are retried: ``stores.RETRYABLE``)."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"
    TIMEOUT = "timeout"
    STALLED = "stalled"


@attrs.frozen
class Lease:
    """Proof that a worker holds a claimed job: every worker write is fenced by it.

    ``token`` grows by one at every claim of the job, so a worker whose job was reaped and
    claimed again holds a stale token and its writes change nothing.
    """

    job_id: int
    token: int
    worker_id: str


@attrs.frozen
class Job:
    """One row of the job table, as read at one moment."""

    id: int
    type: str
    payload: Any
    status: JobStatus
    stage: str | None
    progress: float | None
    attempt: int
    max_attempts: int
    error: str | None
    error_kind: str | None
    result: Any
    worker_id: str | None
    cancel_requested: bool
    created_at: float
    started_at: float | None
    updated_at: float
    finished_at: float | None
    retry_of: int | None
    lease_token: int = 0
    cancel_requested_at: float | None = None
    child_pid: int | None = None
    child_host: str | None = None
    child_started: float | None = None
    #: A pending job waiting out a retry delay is not claimed before this time.
    retry_at: float | None = None
    #: The row's change stamp: grows with every write a watcher sees, in commit order,
    #: whatever the clock does (live updates; not a time to show).
    changed_at: float | None = None
    #: The last lines of the running child's output (ffmpeg's stderr), escaped; the current
    #: attempt's (a claim clears it), kept when the job ends.
    log_tail: str | None = None
    #: The line of ``error`` that says most (e.g. ffmpeg's "Invalid frame size: x."), if
    #: the handler named one.
    error_detail: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status.terminal


@attrs.frozen
class HeartbeatReply:
    """What a heartbeat learns besides "you still hold the lease"."""

    cancel_requested: bool


@attrs.frozen
class HistoryEntry:
    """One transition of a job, appended by the database itself (a trigger) in the same
    statement as the transition, so history and row can never disagree. The first entry,
    the job's creation, is read from the job's own row."""

    job_id: int
    at: float
    from_status: str | None
    to_status: str
    worker_id: str | None
    lease_token: int
    reason: str | None


@attrs.frozen
class JobView:
    """The answer of the poll endpoint: what a person or a UI needs about one job."""

    id: int
    type: str
    status: JobStatus
    stage: str | None
    stages: tuple[str, ...] | None
    progress: float | None
    queue_position: int | None
    attempt: int
    max_attempts: int
    error: str | None
    error_kind: str | None
    cancel_requested: bool
    created_at: float
    updated_at: float
    finished_at: float | None
    retry_of: int | None
    reason: str
    #: A pending retry is not claimed before this time (Unix seconds), else None.
    retry_at: float | None = None
    #: The row's change stamp (see ``Job.changed_at``); not part of the poll answer.
    changed_at: float | None = None
    result: Any = None
    worker_id: str | None = None
    started_at: float | None = None
    log_tail: str | None = None
    error_detail: str | None = None

    @classmethod
    def of(
        cls, job: Job, *, stages: tuple[str, ...] | None, queue_position: int | None, now: float
    ) -> JobView:
        """The view of ``job``: its own fields, plus what the row alone cannot say."""
        shared = {f.name: getattr(job, f.name) for f in attrs.fields(cls) if hasattr(job, f.name)}
        return cls(
            **{
                **shared,
                "stages": stages,
                "queue_position": queue_position,
                "reason": describe(job, queue_position=queue_position, now=now),
            }
        )

    @property
    def indeterminate(self) -> bool:
        """True while running a stage that cannot measure itself (never a made-up number)."""
        return self.status is JobStatus.RUNNING and self.progress is None

    def moved_to(self, queue_position: int) -> JobView:
        """This pending job's view at another place in the queue (live updates learn of
        queue moves without re-reading each pending row)."""
        reason = _pending(queue_position, self.attempt, self.max_attempts, self.error)
        reason += _waiting(self.retry_at, time.time())
        return attrs.evolve(self, queue_position=queue_position, reason=reason)

    @property
    def outputs(self) -> list[dict[str, Any]]:
        """The files the job stored (``result["outputs"]``, the convention of the handler
        API's ``store_output``): name, size, content type and duration of each. No URL: a
        view must not change between two polls of an unchanged job (ETags)."""
        found = self.result.get("outputs") if isinstance(self.result, dict) else None
        if not isinstance(found, list):
            return []
        return [
            {key: entry.get(key) for key in _OUTPUT_KEYS}
            for entry in found
            if isinstance(entry, dict) and isinstance(entry.get("name"), str)
        ]

    @property
    def failure(self) -> dict[str, Any] | None:
        """The error as fields, so that no reader parses the message: its kind, the message
        and the one line that says most (``detail``, None if the handler named none)."""
        if self.error is None:
            return None
        return {"kind": self.error_kind, "message": self.error, "detail": self.error_detail}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the poll keys (times are Unix seconds), the worker, the
        start, the log tail and the failure. Not the payload (up to 64 KiB, it never
        changes: every list and event would carry it again; ``GET /api/jobs/{id}/payload``)."""
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status.value,
            "stage": self.stage,
            "stages": list(self.stages) if self.stages is not None else None,
            "progress": self.progress,
            "indeterminate": self.indeterminate,
            "queue_position": self.queue_position,
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "error": self.error,
            "error_kind": self.error_kind,
            "cancel_requested": self.cancel_requested,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "finished_at": self.finished_at,
            "retry_of": self.retry_of,
            "retry_at": self.retry_at if self.status is JobStatus.PENDING else None,
            "reason": self.reason,
            "result": self.result,
            "outputs": self.outputs,
            "worker_id": self.worker_id,
            "started_at": self.started_at,
            "log_tail": self.log_tail,
            "failure": self.failure,
        }


_OUTPUT_KEYS = ("name", "size", "content_type", "duration")


def describe(job: Job, *, queue_position: int | None, now: float | None = None) -> str:
    """A one-line reason a person can read, derived only from the row."""
    now = time.time() if now is None else now
    status = job.status
    if status is JobStatus.PENDING:
        line = _pending(queue_position, job.attempt, job.max_attempts, job.error)
        return line + _waiting(job.retry_at, now)
    if status is JobStatus.RUNNING:
        if job.cancel_requested:
            since = max(0.0, now - (job.cancel_requested_at or now))
            return f"cancel requested {since:.0f} s ago, waiting for the child to exit"
        where = job.stage or "starting"
        amount = "indeterminate" if job.progress is None else f"{job.progress:.0f}%"
        return f"running: {where} ({amount}), attempt {job.attempt} of {job.max_attempts}"
    if status is JobStatus.COMPLETED:
        took = (job.finished_at or now) - (job.started_at or job.created_at)
        return f"completed in {took:.1f} s"
    if status is JobStatus.FAILED:
        return f"failed: {job.error or 'unknown error'} ({job.error_kind or 'permanent'})"
    return "cancelled" + (" while running" if job.started_at is not None else " before it started")


def _waiting(retry_at: float | None, now: float) -> str:
    """What a retry waiting out its backoff adds to its reason (nothing once it may run).
    The time itself, not a countdown: a view must not change while its job does not (the
    poll endpoint's ETag), and the database's clock is not this host's."""
    if retry_at is None or retry_at <= now:
        return ""
    return time.strftime("; retrying after %H:%M:%S UTC", time.gmtime(retry_at))


def _pending(queue_position: int | None, attempt: int, max_attempts: int, error: str | None) -> str:
    line = f"pending, {(queue_position or 1) - 1} ahead"
    if attempt > 0 and error:
        line += f"; retry after attempt {attempt} of {max_attempts}: {error}"
    return line


@attrs.frozen
class WorkerInfo:
    """What a worker tells the store about itself at start (its row in the registry)."""

    id: str
    host: str
    pid: int
    types: tuple[str, ...]
    version: str
    #: Seconds between two of its beats (its reaper's interval): it is dead after
    #: ``DEAD_AFTER_BEATS`` of them without one.
    beat_interval: float


@attrs.frozen
class Worker:
    """A worker as the registry shows it: what it said at start, its last beat, and the job
    it runs now (read from the job table)."""

    info: WorkerInfo
    started_at: float
    last_beat: float
    #: Seconds since the last beat, by the store's clock at the read.
    beat_age: float
    job_id: int | None

    @property
    def live(self) -> bool:
        return self.beat_age <= DEAD_AFTER_BEATS * self.info.beat_interval

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the HTTP API's ``/api/workers``); times are Unix seconds."""
        return {
            "id": self.info.id,
            "host": self.info.host,
            "pid": self.info.pid,
            "types": list(self.info.types),
            "version": self.info.version,
            "started_at": self.started_at,
            "last_beat": self.last_beat,
            "beat_age": self.beat_age,
            "beat_interval": self.info.beat_interval,
            "live": self.live,
            "job_id": self.job_id,
        }


def served_types(workers: list[Worker]) -> tuple[str, ...]:
    """The job types some live worker serves, sorted."""
    return tuple(sorted({t for w in workers if w.live for t in w.info.types}))
