"""The job store's error hierarchy: few classes, each saying who caused the problem."""

from __future__ import annotations

__all__ = [
    "IdempotencyMismatch",
    "InvalidJob",
    "InvalidTransition",
    "JobNotFound",
    "JobStoreError",
    "LeaseLost",
    "StoreConfigError",
    "StoreUnavailable",
]


class JobStoreError(Exception):
    """Base class of every error the job store raises on purpose."""


class JobNotFound(JobStoreError, LookupError):
    """No job has this id (the caller named a job that does not exist)."""

    def __init__(self, job_id: object) -> None:
        super().__init__(f"job {job_id!r} not found: check the id (list jobs with `list`)")
        self.job_id = job_id


class InvalidJob(JobStoreError, ValueError):
    """The caller passed input the store refuses (bad type name, payload, limit, ...).

    Nothing was written when this is raised.
    """


class InvalidTransition(JobStoreError):
    """The job is in a state that does not allow what was asked (e.g. cancel a completed job).

    Nothing was written when this is raised; ``status`` is the job's current status.
    """

    def __init__(self, message: str, *, job_id: int, status: str) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.status = status


class IdempotencyMismatch(InvalidJob):
    """An idempotency key was sent again with another request than the first time (type,
    payload or max_attempts differ). Nothing was written; ``job_id`` holds the key."""

    def __init__(self, message: str, *, job_id: int) -> None:
        super().__init__(message)
        self.job_id = job_id


class LeaseLost(JobStoreError):
    """A worker wrote with a lease it no longer holds: the job was reaped, re-claimed,
    released or finished. The write changed nothing; the worker must stop the job."""

    def __init__(self, message: str, *, job_id: int) -> None:
        super().__init__(message)
        self.job_id = job_id


class StoreUnavailable(JobStoreError, ConnectionError):
    """The database could not be reached or did not answer in time.

    The outcome of a write that raised this is unknown; every worker write is fenced and
    idempotent for the same lease, so retrying it is safe. ``not_sent`` is True when the
    request certainly did not run (refused connection, stale stream after a server
    restart): the store then retries once on a fresh connection by itself.
    """

    def __init__(self, message: str, *, not_sent: bool = False) -> None:
        super().__init__(message)
        self.not_sent = not_sent


class StoreConfigError(JobStoreError, ValueError):
    """The store's configuration is unusable (malformed URL, missing token, newer schema)."""
