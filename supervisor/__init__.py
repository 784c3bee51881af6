"""The worker: a Trio supervisor of poller, executor, heartbeat and reaper actors.

Handler-facing names (``JobType``, ``JobContext``, ``TransientError``, ``PermanentError``)
live with the executor in ``actors`` and are re-exported here.
"""

from __future__ import annotations

from actors import JobContext, JobType, PermanentError, StalledError, TransientError, run_ffmpeg

from ._config import ConfigError, WorkerConfig
from ._supervisor import (
    ActorCrashed,
    RestartIntensityExceeded,
    RestartStats,
    Supervisor,
    open_supervisor,
)

__all__ = [
    "ActorCrashed",
    "ConfigError",
    "JobContext",
    "JobType",
    "PermanentError",
    "RestartIntensityExceeded",
    "RestartStats",
    "StalledError",
    "Supervisor",
    "TransientError",
    "WorkerConfig",
    "open_supervisor",
    "run_ffmpeg",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("supervisor._"):
        _obj.__module__ = __name__
