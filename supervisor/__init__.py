"""The worker: a Trio supervisor of poller, executor, heartbeat and reaper actors.

Handler-facing names (``JobType``, ``JobContext``, ``TransientError``, ``PermanentError``,
``run_ffmpeg``, ``probe_duration``) live with the executor in ``actors`` and are
re-exported here, with the file helpers a handler of its own needs (``open_input``,
``open_output``, ``relative_parts``: names confined to their folders, outputs written then
renamed; see docs/HANDLERS.md). Names load on first use, so
``python -m supervisor status`` does not pay for importing Trio and the worker.
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
    from ._paths import InputFile, OutputFile, open_input, open_output, relative_parts
    from ._supervisor import (
        ActorCrashed,
        RestartIntensityExceeded,
        RestartStats,
        Supervisor,
        open_supervisor,
    )

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
    "OutputFile",
    "PermanentError",
    "RestartIntensityExceeded",
    "RestartStats",
    "StalledError",
    "StoreOutage",
    "Supervisor",
    "TransientError",
    "WorkerConfig",
    "open_input",
    "open_output",
    "open_supervisor",
    "probe_duration",
    "relative_parts",
    "run_ffmpeg",
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
    **dict.fromkeys(
        ("InputFile", "OutputFile", "open_input", "open_output", "relative_parts"),
        "supervisor._paths",
    ),
    **dict.fromkeys(("ConfigError", "WorkerConfig"), "supervisor._config"),
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
