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
        "RETRYABLE",
        "RULES",
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
    }
    for name in stores.__all__:
        obj = getattr(stores, name)
        assert (
            not getattr(obj, "__module__", "stores").startswith("stores._")
            or name == "TursoJobStore"
        )


def test_files_exports() -> None:
    """`files` exports exactly the documented names, none showing a private module."""
    import files

    assert set(files.__all__) == {
        "DEFAULT_FILES_PATH",
        "DEFAULT_MAX_UPLOAD_BYTES",
        "STORAGE_URL_ENV",
        "BadTarget",
        "InvalidKey",
        "LocalStorage",
        "ObjectInfo",
        "ObjectNotFound",
        "ObjectTooLarge",
        "Progress",
        "S3Storage",
        "Storage",
        "StorageConfigError",
        "StorageError",
        "StorageUnavailable",
        "UploadTicket",
        "check_name",
        "download_targets",
        "get_storage",
        "key_parts",
        "make_folder",
        "max_upload_bytes",
        "new_upload_key",
        "output_key",
        "reset_storage",
        "result_outputs",
        "storage_from_env",
    }
    for name in files.__all__:
        assert not getattr(getattr(files, name), "__module__", "files").startswith("files._")
    assert issubclass(files.ObjectNotFound, LookupError)
    assert issubclass(files.StorageUnavailable, ConnectionError)
    assert issubclass(files.InvalidKey, ValueError)


def test_the_local_default_never_imports_boto3_or_httpx() -> None:
    """Importing `files` and using the local folder loads neither S3 library."""
    import subprocess
    import sys

    code = (
        "import sys, files; files.get_storage(); "
        "assert not {'boto3', 'botocore', 'httpx'} & set(sys.modules), sorted(sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


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


def test_supervisor_and_actors_exports() -> None:
    """`supervisor` re-exports the handler API from `actors`; both pin their names."""
    import actors
    import supervisor

    assert set(supervisor.__all__) == {
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
        "InputFile",
        "Output",
        "Scratch",
        "fetch_input",
        "open_file",
        "open_scratch",
        "store_output",
        "probe_duration",
    }
    assert supervisor.JobType is actors.JobType
    assert supervisor.run_ffmpeg is actors.run_ffmpeg
    assert supervisor.probe_duration is actors.probe_duration
    # actors exports what other packages use (supervisor wires the actors), nothing more.
    assert set(actors.__all__) == {
        *(name for name in supervisor.__all__ if name in dir(actors)),
        *("poller", "executor", "heartbeat", "reaper", "Sentinel", "sweep_leftover_children"),
        *("Events", "Observer", "LogObserver", "Handoff", "Wakeup", "JobSlot", "StopReason"),
        *("ExecutorSettings", "PollerSettings", "JobTypeError", "index_job_types"),
        *("classify", "prune_once", "sweep_uploads"),
        *("NOT_MEDIA", "header_duration"),  # the reference prep reads ffmpeg's header with them
    }
    for module in (actors, supervisor):
        for name in module.__all__:
            assert not getattr(getattr(module, name), "__module__", "x").startswith(
                f"{module.__name__}._"
            ), name


def test_imports_point_one_way() -> None:
    """The configuration imports nothing of the project; stores and files nothing of the
    worker or each other; actors nothing of the supervisor; neither imports the HTTP layer,
    which imports only stores and files; the HTTP client only files (the output rules it
    shares with the CLI's fetch); none imports the tests or their support package."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    project = {"stores", "files", "actors", "supervisor", "web", "media_jobs_client"}
    forbidden = {
        "media_jobs_config": project,
        "stores": {"actors", "supervisor", "web", "files"},
        "files": {"actors", "supervisor", "web", "stores"},
        "actors": {"supervisor", "web"},
        "web": {"actors", "supervisor"},
        "media_jobs_client": {"stores", "actors", "supervisor", "web"},
    }
    for package, banned in forbidden.items():
        banned = banned | {"tests", "media_jobs_testing"}  # test code never ships
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    assert name.split(".")[0] not in banned, f"{path.name} imports {name}"


def test_web_exports() -> None:
    """`web` exports its few names; none shows a private module path."""
    import web

    assert set(web.__all__) == {
        "TOKEN_ENV",
        "Broadcaster",
        "WebConfigError",
        "WebSettings",
        "create_app",
        "is_loopback",
        "serve_http",
        "serve_metrics",
    }
    for name in web.__all__:
        assert not getattr(getattr(web, name), "__module__", "web").startswith("web._"), name


def test_supervisor_loads_web_only_when_serving() -> None:
    """Importing supervisor (and running its CLI's other commands) never imports web or
    its server stack: the HTTP layer is imported inside `serve` and `run --http`."""
    import subprocess
    import sys

    code = (
        "import sys, supervisor, supervisor._cli; "
        "assert not {'web', 'starlette', 'hypercorn'} & set(sys.modules), sorted(sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_the_reference_type_names_are_the_reference_types() -> None:
    """The CLI's list of reference type names matches the reference handlers."""
    from supervisor._cli import load_job_types
    from supervisor._config import REFERENCE_TYPES
    from supervisor.reference import JOB_TYPES

    assert REFERENCE_TYPES == tuple(t.name for t in JOB_TYPES)
    # The reference package is a handlers module like any other, and the default one.
    assert tuple(load_job_types("supervisor.reference")) == REFERENCE_TYPES
    assert tuple(load_job_types(None)) == REFERENCE_TYPES


def test_media_jobs_config_exports() -> None:
    """The configuration exports its declarations and the one environment reader; none
    shows a private module path."""
    import media_jobs_config

    assert set(media_jobs_config.__all__) == {
        "SECRET_VARIABLES",
        "SETTINGS",
        "Environment",
        "Setting",
        "UndeclaredSetting",
        "child_environ",
        "declared",
        "default",
        "environment",
    }
    for name in ("Environment", "Setting", "UndeclaredSetting", "environment", "declared"):
        assert getattr(media_jobs_config, name).__module__ == "media_jobs_config", name


def test_reading_an_undeclared_variable_is_refused() -> None:
    """Every setting is declared: reading another is a programming error, named."""
    import pytest

    from media_jobs_config import UndeclaredSetting, environment

    env = environment({"SUPERVISOR_NOT_A_SETTING": "1", "SUPERVISOR_POLL_INTERVAL": " 2 "})
    assert env.get("SUPERVISOR_POLL_INTERVAL") == " 2 "
    with pytest.raises(UndeclaredSetting, match="SUPERVISOR_NOT_A_SETTING is not declared"):
        env.get("SUPERVISOR_NOT_A_SETTING")
