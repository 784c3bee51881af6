"""Values the store hands out: jobs, leases, the poll view and history entries."""

from __future__ import annotations

import enum
import time
from typing import Any

import attrs

__all__ = [
    "TERMINAL",
    "ErrorKind",
    "HeartbeatReply",
    "HistoryEntry",
    "Job",
    "JobStatus",
    "JobView",
    "Lease",
]


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
    """Why a run ended badly: decides whether it is retried (transient kinds are)."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"
    TIMEOUT = "timeout"
    STALLED = "stalled"

    @property
    def retryable(self) -> bool:
        return self is not ErrorKind.PERMANENT


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
    result: Any = None

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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the poll keys (times are Unix seconds)."""
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
            "reason": self.reason,
            "result": self.result,
            "outputs": self.outputs,
        }


_OUTPUT_KEYS = ("name", "size", "content_type", "duration")


def describe(job: Job, *, queue_position: int | None, now: float | None = None) -> str:
    """A one-line reason a person can read, derived only from the row."""
    now = time.time() if now is None else now
    status = job.status
    if status is JobStatus.PENDING:
        return _pending(queue_position, job.attempt, job.max_attempts, job.error)
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


def _pending(queue_position: int | None, attempt: int, max_attempts: int, error: str | None) -> str:
    line = f"pending, {(queue_position or 1) - 1} ahead"
    if attempt > 0 and error:
        line += f"; retry after attempt {attempt} of {max_attempts}: {error}"
    return line
