"""Every environment variable the project reads, declared once: its name, its default, what
it means and whether it is a secret.

Rationale (procrastinate's ``add_argument(..., envvar=...)``, River's ``Config``). A setting
whose name, default and help are written in several places drifts: the dashboard had its
own copy of the heartbeat timings, the HTTP layer its own copy of the worker's. Here each
is written once; the classes that hold settings (``WorkerConfig``, ``WebSettings``, the
store and storage factories) take their defaults from this table, the README's
configuration table is checked against it (tests/test_config_table.py), the secrets that no
child process may inherit are the rows marked ``secret``, and reading a variable that is not
declared here is a programming error (:class:`UndeclaredSetting`).

This module imports only the standard library and attrs: every package may use it.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["SETTINGS", "Setting", "UndeclaredSetting", "declared", "default"]

Default = float | int | str | None


class UndeclaredSetting(KeyError):
    """Code read a variable that ``SETTINGS`` does not declare: declare it (with its
    default and help) and add it to the README's configuration table."""


@attrs.frozen
class Setting:
    """One environment variable. ``default`` is the value used when it is unset or empty
    (None: unset means "off" or "not given"); ``help`` is the README's meaning column."""

    variable: str
    default: Default
    help: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    # The job store (stores.get_job_store).
    Setting(
        "TURSO_DATABASE_URL", None, "use Turso / a libSQL server (libsql://, https://, http://)"
    ),
    Setting("TURSO_AUTH_TOKEN", None, "its token; never printed or logged", secret=True),
    Setting("JOBS_DB_PATH", "./data/jobs.db", "the local file (created 0600)"),
    # Files (files.get_storage).
    Setting("SUPERVISOR_STORAGE_URL", None, "where files live: s3://BUCKET/PREFIX, or file://PATH"),
    Setting("AWS_ENDPOINT_URL_S3", None, "the S3 service's endpoint"),
    Setting("AWS_ENDPOINT_URL", None, "the S3 endpoint when AWS_ENDPOINT_URL_S3 is unset"),
    Setting("AWS_REGION", None, "the S3 region"),
    Setting("AWS_DEFAULT_REGION", None, "the S3 region when AWS_REGION is unset"),
    Setting("AWS_ACCESS_KEY_ID", None, "the S3 access key", secret=True),
    Setting("AWS_SECRET_ACCESS_KEY", None, "the S3 secret key", secret=True),
    Setting("AWS_SESSION_TOKEN", None, "never read: kept from child processes", secret=True),
    Setting(
        "SUPERVISOR_MAX_UPLOAD_BYTES", 2 << 30, "largest upload, and largest input a job downloads"
    ),
    # Jobs.
    Setting("SUPERVISOR_SCRATCH_DIR", None, "where jobs get their private scratch folders"),
    Setting("FFMPEG_BINARY", None, "the ffmpeg to run"),
    Setting("SUPERVISOR_HANDLERS", None, "module with JOB_TYPES"),
    # The worker's timings, in seconds (supervisor.WorkerConfig: the field is the name less
    # its SUPERVISOR_ prefix, lowercased).
    Setting("SUPERVISOR_POLL_INTERVAL", 0.6, "idle wait between claims"),
    Setting(
        "SUPERVISOR_MAX_POLL_INTERVAL",
        0.6,
        "idle polling backs off up to this (fewer rows read, slower pickup)",
    ),
    Setting(
        "SUPERVISOR_CANCEL_CHECK_INTERVAL",
        0.5,
        "how often a running job's row is read for a cancel request",
    ),
    Setting("SUPERVISOR_HEARTBEAT_INTERVAL", 15.0, "heartbeat period (lease renewal)"),
    Setting("SUPERVISOR_STALE_AFTER", 90.0, "a running job silent this long is reaped"),
    Setting("SUPERVISOR_REAPER_INTERVAL", 30.0, "how often each worker reaps, at most"),
    Setting("SUPERVISOR_SHUTDOWN_GRACE", 20.0, "on SIGTERM, time the running job gets to finish"),
    Setting("SUPERVISOR_KILL_GRACE", 3.0, "SIGTERM to SIGKILL grace for child processes"),
    Setting(
        "SUPERVISOR_SHUTDOWN_TIMEOUT",
        45.0,
        "bound on a whole shutdown (grace + kill grace + the final write)",
    ),
    Setting("SUPERVISOR_RETAIN_COMPLETED", 86_400.0, "seconds completed jobs are kept; 0: forever"),
    Setting("SUPERVISOR_RETAIN_CANCELLED", 86_400.0, "seconds cancelled jobs are kept; 0: forever"),
    Setting("SUPERVISOR_RETAIN_FAILED", 604_800.0, "seconds failed jobs are kept; 0: forever"),
    Setting(
        "SUPERVISOR_RETAIN_IDEMPOTENCY_KEYS",
        86_400.0,
        "seconds an Idempotency-Key keeps answering with its job; 0: forever",
    ),
    Setting("SUPERVISOR_PRUNE_INTERVAL", 300.0, "how often each worker prunes"),
    Setting("SUPERVISOR_RETAIN_UPLOADS", 604_800.0, "seconds an upload is kept; 0: forever"),
    Setting(
        "SUPERVISOR_METRICS_LISTEN",
        None,
        "run: serve /metrics and /healthz only (no API, no token) on HOST:PORT",
    ),
    # The process.
    Setting("SUPERVISOR_LOG_FORMAT", "text", "text (key=value lines) or json"),
    # The HTTP layer (web.WebSettings).
    Setting(
        "SUPERVISOR_API_TOKEN",
        None,
        "the HTTP API's token; required off loopback; never logged",
        secret=True,
    ),
    Setting(
        "SUPERVISOR_EVENTS_INTERVAL", 0.5, "seconds between two reads of changes for live updates"
    ),
    Setting("SUPERVISOR_HTTP_MAX_CONNECTIONS", 512, "connections the HTTP server serves at once"),
    Setting("SUPERVISOR_HTTP_MAX_ANONYMOUS", 64, "of those, how many may be without the token"),
    Setting(
        "SUPERVISOR_HTTP_BODY_TIMEOUT",
        30.0,
        "seconds a request body may take after its headers, else 408",
    ),
    Setting("SUPERVISOR_CORS_ORIGINS", None, "origins whose pages may call the API"),
    Setting("PORT", 8000, "serve's default port (Render sets it)"),
)

_BY_NAME: Mapping[str, Setting] = {s.variable: s for s in SETTINGS}


def declared(variable: str) -> Setting:
    """The declaration of ``variable``; :class:`UndeclaredSetting` if there is none."""
    try:
        return _BY_NAME[variable]
    except KeyError:
        raise UndeclaredSetting(f"{variable} is not declared in media_jobs_config") from None


def default(variable: str) -> float:
    """The numeric default of ``variable`` (for a class field's default)."""
    value = declared(variable).default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{variable} has no numeric default: {value!r}")
    return value
