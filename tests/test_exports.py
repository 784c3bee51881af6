"""The public surface is pinned: users import these names and nothing private."""

from __future__ import annotations

import stores


def test_stores_exports() -> None:
    """`stores` exports exactly the documented names, each resolvable."""
    assert set(stores.__all__) == {
        "Claimed",
        "ErrorKind",
        "HeartbeatReply",
        "HistoryEntry",
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
        "StoreConfigError",
        "StoreUnavailable",
        "TursoJobStore",
        "get_job_store",
        "reset_job_store",
        "store_from_env",
    }
    for name in stores.__all__:
        obj = getattr(stores, name)
        assert (
            not getattr(obj, "__module__", "stores").startswith("stores._")
            or name == "TursoJobStore"
        )


def test_errors_subclass_what_callers_catch() -> None:
    """Each error is also the built-in a caller would naturally catch."""
    assert issubclass(stores.JobNotFound, LookupError)
    assert issubclass(stores.InvalidJob, ValueError)
    assert issubclass(stores.StoreUnavailable, ConnectionError)
    assert all(
        issubclass(e, stores.JobStoreError)
        for e in (
            stores.JobNotFound,
            stores.InvalidJob,
            stores.InvalidTransition,
            stores.LeaseLost,
            stores.StoreUnavailable,
            stores.StoreConfigError,
        )
    )
