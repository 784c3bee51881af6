"""The worker: a Trio supervisor of poller, executor, heartbeat and reaper actors.

Handler-facing names (``JobType``, ``JobContext``, ``TransientError``, ``PermanentError``,
``run_ffmpeg``, ``probe_duration``) live with the executor in ``actors`` and are
re-exported here, with the file helpers a handler of its own needs (``open_scratch``,
``fetch_input``, ``open_file``, ``store_output``: inputs fetched from the storage into a
private folder, outputs stored with byte progress; see docs/HANDLERS.md). Names load on
first use, so ``python -m supervisor status`` does not pay for importing Trio and the
worker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actors import (
        ActorCrash,
        ActorRestart,
        Event,
        JobCancelled,
        JobClaimed,
        JobCompleted,
        JobContext,
        JobFailed,
        JobProgress,
        JobReaped,
        JobReleased,
        JobRetried,
        JobType,
        PermanentError,
        StalledError,
        StoreOutage,
        TransientError,
        probe_duration,
        run_ffmpeg,
    )

    from ._config import ConfigError, WorkerConfig
    from ._paths import InputFile, Scratch, open_file, open_scratch
    from ._supervisor import (
        ActorCrashed,
        RestartIntensityExceeded,
        RestartStats,
        Supervisor,
        open_supervisor,
    )
    from ._transfer import Output, fetch_input, store_output

#: The worker's typed events (see ``actors/_events.py``), for ``open_supervisor(observers=)``.
EVENTS = (
    "ActorCrash",
    "ActorRestart",
    "Event",
    "JobCancelled",
    "JobClaimed",
    "JobCompleted",
    "JobFailed",
    "JobProgress",
    "JobReaped",
    "JobReleased",
    "JobRetried",
    "StoreOutage",
)

__all__ = [
    "ActorCrash",
    "ActorCrashed",
    "ActorRestart",
    "ConfigError",
    "Event",
    "InputFile",
    "JobCancelled",
    "JobClaimed",
    "JobCompleted",
    "JobContext",
    "JobFailed",
    "JobProgress",
    "JobReaped",
    "JobReleased",
    "JobRetried",
    "JobType",
    "Output",
    "PermanentError",
    "RestartIntensityExceeded",
    "RestartStats",
    "Scratch",
    "StalledError",
    "StoreOutage",
    "Supervisor",
    "TransientError",
    "WorkerConfig",
    "fetch_input",
    "open_file",
    "open_scratch",
    "open_supervisor",
    "probe_duration",
    "run_ffmpeg",
    "store_output",
]

_WHERE = {
    **dict.fromkeys(EVENTS, "actors"),
    **dict.fromkeys(
        (
            "JobContext",
            "JobType",
            "PermanentError",
            "StalledError",
            "TransientError",
            "probe_duration",
            "run_ffmpeg",
        ),
        "actors",
    ),
    **dict.fromkeys(("ConfigError", "WorkerConfig"), "supervisor._config"),
    **dict.fromkeys(("InputFile", "Scratch", "open_file", "open_scratch"), "supervisor._paths"),
    **dict.fromkeys(("Output", "fetch_input", "store_output"), "supervisor._transfer"),
    **dict.fromkeys(
        (
            "ActorCrashed",
            "RestartIntensityExceeded",
            "RestartStats",
            "Supervisor",
            "open_supervisor",
        ),
        "supervisor._supervisor",
    ),
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'supervisor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    if getattr(value, "__module__", "").startswith("supervisor._"):
        value.__module__ = __name__  # public names show as `supervisor.X`
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
