"""Typed events: what happened to jobs and actors, for logs, metrics and embedders.

Rationale. The facts a person or a dashboard wants (a job was claimed, reported progress,
completed, failed, will retry, was cancelled, released or reaped; an actor crashed; the
database went away) are found by the executor, the reaper, the supervisor and the store.
Each emits one typed event to one :class:`Events` hub; observers subscribe to it. The
worker's log lines are written by one observer (:class:`LogObserver`), its metrics by
another; an embedding application may add its own through ``open_supervisor``.

Observers are called synchronously, in the worker's thread, and must not block. One that
raises is logged and otherwise ignored: an observer's bug must not stop a job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import attrs

__all__ = [
    "ActorCrash",
    "ActorRestart",
    "Event",
    "Events",
    "JobCancelled",
    "JobClaimed",
    "JobCompleted",
    "JobFailed",
    "JobProgress",
    "JobReaped",
    "JobReleased",
    "JobRetried",
    "LogObserver",
    "Observer",
    "StoreOutage",
]

log = logging.getLogger("supervisor.events")


def _now() -> float:
    return time.time()


@attrs.frozen(kw_only=True)
class Event:
    """Something that happened; ``at`` is the wall time (Unix seconds) it was seen."""

    at: float = attrs.field(factory=_now)


@attrs.frozen(kw_only=True)
class JobEvent(Event):
    job_id: int
    job_type: str
    attempt: int


@attrs.frozen(kw_only=True)
class JobClaimed(JobEvent):
    """A worker took the job; ``queue_wait`` is seconds from creation to this claim."""

    queue_wait: float


@attrs.frozen(kw_only=True)
class JobProgress(JobEvent):
    """A stage or progress report the database recorded (``progress`` None: indeterminate)."""

    stage: str | None
    progress: float | None
    new_stage: bool


@attrs.frozen(kw_only=True)
class JobCompleted(JobEvent):
    duration: float


@attrs.frozen(kw_only=True)
class JobFailed(JobEvent):
    """The job ended failed (no attempt left, or a permanent error)."""

    error: str
    error_kind: str
    duration: float


@attrs.frozen(kw_only=True)
class JobRetried(JobEvent):
    """A transient failure with attempts left: the job is pending again."""

    error: str
    error_kind: str
    duration: float


@attrs.frozen(kw_only=True)
class JobCancelled(JobEvent):
    """Cancelled while running, its child confirmed dead."""

    duration: float


@attrs.frozen(kw_only=True)
class JobReleased(JobEvent):
    """Given back to pending (or ended, if a cancel was requested or a charged attempt was
    its last): shutdown, self-fencing, a crash, an untrusted outcome, a lost lease."""

    reason: str
    status: str
    charged: bool


@attrs.frozen(kw_only=True)
class JobReaped(JobEvent):
    """A stale running job found by the reaper: pending again, failed or cancelled."""

    status: str
    error: str | None


@attrs.frozen(kw_only=True)
class ActorCrash(Event):
    actor: str
    error: str
    job_id: int | None = None


@attrs.frozen(kw_only=True)
class ActorRestart(Event):
    actor: str
    restarts: int


@attrs.frozen(kw_only=True)
class StoreOutage(Event):
    """The database became unreachable (``began``) or reachable again."""

    began: bool
    detail: str = ""


Observer = Callable[[Event], None]


class Events:
    """The hub: ``emit`` hands each event to every observer, in order."""

    def __init__(self, observers: Iterable[Observer] = ()) -> None:
        self._observers = list(observers)

    def __repr__(self) -> str:
        return f"<Events observers={len(self._observers)}>"

    def subscribe(self, observer: Observer) -> None:
        self._observers.append(observer)

    def emit(self, event: Event) -> None:
        for observer in self._observers:
            try:
                observer(event)
            except Exception:
                log.exception("an event observer failed on %s", type(event).__name__)


def _extra(event: Event) -> dict[str, Any]:
    if isinstance(event, JobEvent):
        return {"job_id": event.job_id, "job_type": event.job_type, "attempt": event.attempt}
    return {}


class LogObserver:
    """Writes the worker's log lines from its events (one line per event, key=value or
    JSON by the log format). Progress reports are left out: too many, no news."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("supervisor.executor")

    def __call__(self, event: Event) -> None:
        line = self._line(event)
        if line is None:
            return
        level, message = line
        self._log.log(level, message, extra=_extra(event))

    @staticmethod
    def _line(event: Event) -> tuple[int, str] | None:
        info, warn = logging.INFO, logging.WARNING
        match event:
            case JobClaimed():
                return info, "job started"
            case JobCompleted():
                return info, "job completed"
            case JobRetried(error=text, error_kind=kind):
                return warn, f"job will retry: {text} ({kind})"
            case JobFailed(error=text, error_kind=kind):
                return warn, f"job failed: {text} ({kind})"
            case JobCancelled():
                return info, "job cancelled, child confirmed dead"
            case JobReleased(reason=reason, status=status):
                verdict = "released" if status == "pending" else f"ended {status}"
                return warn, f"job {verdict}: {reason}"
            case JobReaped(status=status, error=text):
                return warn, f"reaped job: {text or status}"
            case ActorCrash():
                return None  # the supervisor logs it itself, with the traceback
            case StoreOutage():
                return None  # the store writes its own line when an outage begins and ends
        return None
