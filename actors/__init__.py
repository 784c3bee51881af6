"""The pieces that run jobs: poller, executor, heartbeat, reaper, and the handler's API.

``__all__`` holds what other packages use: the handler's API (which ``supervisor``
re-exports for users) and the actors and their settings, which ``supervisor`` wires. The
rest (child processes, the running job's record, ffmpeg's path) stays in the underscore
modules; tests import it from there.
"""

from __future__ import annotations

from ._child import sweep_leftover_children
from ._context import JobContext, JobType, JobTypeError, index_job_types
from ._errors import PermanentError, StalledError, TransientError, classify
from ._events import (
    ActorCrash,
    ActorRestart,
    Event,
    Events,
    JobCancelled,
    JobClaimed,
    JobCompleted,
    JobFailed,
    JobProgress,
    JobReaped,
    JobReleased,
    JobRetried,
    LogObserver,
    Observer,
    StoreOutage,
)
from ._executor import ExecutorSettings, executor
from ._ffmpeg import NOT_MEDIA, header_duration, probe_duration, run_ffmpeg
from ._heartbeat import heartbeat
from ._poller import Handoff, PollerSettings, Wakeup, poller
from ._reaper import prune_once, reaper, sweep_uploads
from ._running import JobSlot, StopReason
from ._sentinel import Sentinel

__all__ = [
    "NOT_MEDIA",
    "ActorCrash",
    "ActorRestart",
    "Event",
    "Events",
    "ExecutorSettings",
    "Handoff",
    "JobCancelled",
    "JobClaimed",
    "JobCompleted",
    "JobContext",
    "JobFailed",
    "JobProgress",
    "JobReaped",
    "JobReleased",
    "JobRetried",
    "JobSlot",
    "JobType",
    "JobTypeError",
    "LogObserver",
    "Observer",
    "PermanentError",
    "PollerSettings",
    "Sentinel",
    "StalledError",
    "StopReason",
    "StoreOutage",
    "TransientError",
    "Wakeup",
    "classify",
    "executor",
    "header_duration",
    "heartbeat",
    "index_job_types",
    "poller",
    "probe_duration",
    "prune_once",
    "reaper",
    "run_ffmpeg",
    "sweep_leftover_children",
    "sweep_uploads",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("actors._"):
        _obj.__module__ = __name__
