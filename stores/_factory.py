"""The process-wide store, chosen from the environment (factory and singleton)."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from media_jobs_config import Environment, declared, environment

from ._interface import JobStore

__all__ = ["DEFAULT_DB_PATH", "get_job_store", "reset_job_store", "store_from_env"]

DEFAULT_DB_PATH = str(declared("JOBS_DB_PATH").default)

_lock = threading.Lock()
_store: JobStore | None = None


def store_from_env(env: Mapping[str, str] | Environment | None = None) -> JobStore:
    """A new store as the environment says: ``TURSO_DATABASE_URL`` (with
    ``TURSO_AUTH_TOKEN``) selects Turso, otherwise a local file at ``JOBS_DB_PATH``.

    The local default never loads the Turso client (nor its HTTP and TLS modules).
    """
    env = environment(env)
    url = env.get("TURSO_DATABASE_URL", "").strip()
    if url:
        from ._turso import TursoJobStore

        return TursoJobStore(url, env.get("TURSO_AUTH_TOKEN") or None)
    from ._local import LocalJobStore

    return LocalJobStore(env.get("JOBS_DB_PATH") or DEFAULT_DB_PATH)


def get_job_store() -> JobStore:
    """The process-wide store, created from the environment on first use."""
    global _store
    with _lock:
        if _store is None:
            _store = store_from_env()
        return _store


def reset_job_store() -> None:
    """Close and forget the process-wide store (test isolation)."""
    global _store
    with _lock:
        store, _store = _store, None
    if store is not None:
        store.close()
