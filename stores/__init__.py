"""Where jobs live: one schema, a local SQLite adapter and a Turso (libSQL) adapter."""

from __future__ import annotations

from ._errors import (
    IdempotencyMismatch,
    InvalidJob,
    InvalidTransition,
    JobNotFound,
    JobStoreError,
    LeaseLost,
    StoreConfigError,
    StoreUnavailable,
)
from ._factory import get_job_store, reset_job_store, store_from_env
from ._interface import Claimed, JobStore, JobTypeInfo
from ._io import run_sync
from ._local import LocalJobStore
from ._model import (
    ErrorKind,
    HeartbeatReply,
    HistoryEntry,
    Job,
    JobStatus,
    JobView,
    Lease,
    Worker,
    WorkerInfo,
    served_types,
)
from ._transitions import RETRYABLE, RULES, Outcome, Rule, transition

__all__ = [
    "RETRYABLE",
    "RULES",
    "Claimed",
    "ErrorKind",
    "HeartbeatReply",
    "HistoryEntry",
    "IdempotencyMismatch",
    "InvalidJob",
    "InvalidTransition",
    "Job",
    "JobNotFound",
    "JobStatus",
    "JobStore",
    "JobStoreError",
    "JobTypeInfo",
    "JobView",
    "Lease",
    "LeaseLost",
    "LocalJobStore",
    "Outcome",
    "Rule",
    "StoreConfigError",
    "StoreUnavailable",
    "TursoJobStore",
    "Worker",
    "WorkerInfo",
    "get_job_store",
    "reset_job_store",
    "run_sync",
    "served_types",
    "store_from_env",
    "transition",
]


def __getattr__(name: str) -> object:
    # TursoJobStore is loaded on first use: local development never loads the Turso client.
    if name == "TursoJobStore":
        from ._turso import TursoJobStore

        return TursoJobStore
    raise AttributeError(f"module 'stores' has no attribute {name!r}")


def _fix_module_names() -> None:
    # Public names show as `stores.X`, never as a private module path.
    for name in __all__:
        if name != "TursoJobStore":
            obj = globals()[name]
            if getattr(obj, "__module__", "").startswith("stores._"):
                obj.__module__ = __name__


_fix_module_names()
