"""``python -m supervisor``: run a worker, or submit, inspect and cancel jobs.

Rationale. A one-shot command (``submit``, ``status``, ``cancel``, ...) is one or two
statements; Python's start-up is most of its time. So this module imports only the
standard library and ``stores`` (which itself needs neither Trio nor SQLAlchemy), runs
one-shot commands without an event loop (``stores.run_sync``), and imports Trio and the
worker only for the commands that run one (``run``, ``watch``, ``demo``).
"""

from __future__ import annotations

import argparse
import datetime
import functools
import importlib
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from media_jobs_config import Environment, declared, environment
from stores import (
    JobStatus,
    JobStore,
    JobStoreError,
    JobView,
    run_sync,
    store_from_env,
)

from ._config import REFERENCE_TYPES, ConfigError, WorkerConfig
from ._logging import configure_logging
from ._text import printable
from ._version import conflict_line, version

if TYPE_CHECKING:
    import trio

    from actors import JobType

    from ._lifecycle import Service
    from ._metrics import Metrics

__all__ = ["main"]

log = logging.getLogger("supervisor")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 3
#: A command whose reader went away (``| head -1``) exits as if SIGPIPE had killed it.
EXIT_PIPE = 128 + 13


class CliError(Exception):
    """An error for the person at the terminal: printed as one line, exit 2."""


def say(text: str, file: Any = None) -> None:
    """Print a line for a person: job text in it (errors, messages) is shown with its
    control characters escaped, never acted on by the terminal (see ``_text``)."""
    print(printable(text), file=file or sys.stdout)


def load_job_types(module_name: str | None) -> dict[str, JobType]:
    """The job types of ``module_name`` (its ``JOB_TYPES``; ``main`` resolved
    ``--handlers`` and ``SUPERVISOR_HANDLERS`` into it), or the reference ones.
    A mistake in them (a plain ``def`` handler, a name or a stage used twice) is a
    :class:`CliError`: refused at start, not when a job fails."""
    from actors import JobType, JobTypeError, index_job_types

    if not module_name:
        from . import reference

        found: Any = reference.JOB_TYPES
    else:
        try:
            module = importlib.import_module(module_name)
        except JobTypeError as exc:  # raised by a JobType(...) at the module's top level
            raise CliError(f"handlers module {module_name!r}: {exc}") from exc
        except ImportError as exc:
            raise CliError(_not_importable(module_name, exc)) from exc
        found = getattr(module, "JOB_TYPES", None)
        if found is None:
            raise CliError(f"handlers module {module_name!r} has no JOB_TYPES")
    types = list(found.values()) if isinstance(found, dict) else list(found)
    if not types or not all(isinstance(t, JobType) for t in types):
        raise CliError(f"JOB_TYPES of {module_name!r} must be a non-empty list of JobType")
    try:
        return index_job_types(types)
    except JobTypeError as exc:
        raise CliError(f"handlers module {module_name!r}: {exc}") from exc


def _not_importable(module_name: str, exc: ImportError) -> str:
    """Why ``module_name`` did not import, and where it was looked for, in one line."""
    missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
    if missing is None:
        return f"cannot import handlers module {module_name!r}: {exc}"
    if module_name != missing and not module_name.startswith(missing + "."):
        return (
            f"handlers module {module_name!r} imports {missing!r}, which is not installed in "
            f"this environment ({sys.prefix})"
        )
    cwd = os.getcwd()
    searched = [p or cwd for p in sys.path]  # "" is the current folder
    head = ", ".join(repr(p) for p in searched[:3])
    where = (
        f"the current folder ({cwd}) and sys.path [{head}, ...]"
        if cwd in searched
        else f"sys.path [{head}, ...], which leaves out the current folder ({cwd})"
    )
    leaf = module_name.replace(".", "/")
    return (
        f"cannot import handlers module {module_name!r}: the module must be importable, and "
        f"was looked for in {where}; run from the folder that holds {leaf}.py, or add that "
        "folder to PYTHONPATH"
    )


def parse_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CliError(f"a job id is a positive integer, got {text!r}") from None
    if value < 1:
        raise CliError(f"a job id is a positive integer, got {text!r}")
    return value


def _bar(view: JobView, width: int = 30) -> str:
    if view.status is JobStatus.PENDING:
        return f"[{'.' * width}] queued #{view.queue_position}"
    if view.progress is None:
        return f"[{'~' * width}] {view.stage or 'starting'} (indeterminate)"
    filled = math.floor(width * view.progress / 100)
    return f"[{'#' * filled}{'.' * (width - filled)}] {view.stage} {view.progress:5.1f}%"


def _exit_code(status: JobStatus) -> int:
    return {
        JobStatus.COMPLETED: EXIT_OK,
        JobStatus.FAILED: EXIT_FAILED,
        JobStatus.CANCELLED: EXIT_CANCELLED,
    }.get(status, EXIT_OK)


async def _with_store(
    fn: Callable[[JobStore, argparse.Namespace], Coroutine[Any, Any, int]],
    args: argparse.Namespace,
) -> int:
    store = store_from_env(args.environment)
    try:
        return await fn(store, args)
    finally:
        await store.aclose()


async def served_types(store: JobStore, handlers: str | None) -> list[str]:
    """The job types a worker serves: those of the handlers module if one is named, else
    those the workers on this database registered, else the reference types."""
    if handlers:
        return sorted(load_job_types(handlers))
    registered = [info.name for info in await store.types()]
    return sorted(registered or REFERENCE_TYPES)


def payload_checks(types: dict[str, JobType]) -> dict[str, Callable[[Any], object]]:
    """The payload checks (``JobType.validate``) of ``types``, by name."""
    return {name: t.validate for name, t in types.items() if t.validate is not None}


def check_payload(handlers: str | None, type_name: str, payload: Any) -> None:
    """Refuse at submit a payload the type's own check refuses, if a handlers module is
    named. Without one this process knows only the names the workers registered, not their
    rules (a worker's own type may share a reference type's name): the worker checks."""
    if not handlers:
        return
    check = payload_checks(load_job_types(handlers)).get(type_name)
    if check is not None:
        try:
            check(payload)
        except ValueError as exc:
            raise CliError(f"job type {type_name!r}: {exc}") from None


async def cmd_submit(store: JobStore, args: argparse.Namespace) -> int:
    types = await served_types(store, args.handlers)
    if args.type not in types:
        raise CliError(f"unknown job type {args.type!r}: the workers serve {types}")
    try:
        payload = json.loads(args.payload) if args.payload is not None else None
    except RecursionError:
        raise CliError("--payload is nested too deeply to store as JSON: flatten it") from None
    except ValueError as exc:  # JSONDecodeError, or an integer of thousands of digits
        raise CliError(f"--payload is not valid JSON: {str(exc)[:200]}") from None
    if args.file is not None:
        payload = await _with_upload(args.file, payload)
    check_payload(args.handlers, args.type, payload)
    job = await store.create(
        args.type, payload, max_attempts=args.max_attempts, idempotency_key=args.idempotency_key
    )
    print(job.id)
    return EXIT_OK


async def _with_upload(path: str, payload: Any) -> dict[str, Any]:
    """The payload with ``input`` set to the key of ``path``, uploaded first."""
    from ._cli_files import TransferError, upload_input

    if payload is not None and not isinstance(payload, dict):
        raise CliError("--file needs --payload to be a JSON object (it sets its 'input')")
    try:
        return {**(payload or {}), "input": await upload_input(path)}
    except TransferError as exc:
        raise CliError(str(exc)) from None


async def cmd_fetch(store: JobStore, args: argparse.Namespace) -> int:
    from ._cli_files import TransferError, download_outputs

    try:
        paths = await download_outputs(store, parse_id(args.id), args.output)
    except TransferError as exc:
        raise CliError(str(exc)) from None
    for path in paths:
        print(path)
    return EXIT_OK


async def cmd_status(store: JobStore, args: argparse.Namespace) -> int:
    view = await store.poll(parse_id(args.id))
    if args.json:
        print(json.dumps(view.to_dict()))
    else:
        say(f"job {view.id} ({view.type}): {view.reason}")
        if view.status is JobStatus.RUNNING:
            say(_bar(view))
    return EXIT_OK


async def cmd_list(store: JobStore, args: argparse.Namespace) -> int:
    views = await store.views(status=args.status, type=args.type, limit=args.limit)
    if args.json:
        print(json.dumps([v.to_dict() for v in views]))
    elif not views and sys.stdout.isatty():
        # Said to a person only, and on stderr: a script reading stdout gets no lines.
        wanted = ", ".join(f"{k} {v}" for k in ("status", "type") if (v := getattr(args, k)))
        say(f"no jobs ({wanted})" if wanted else "no jobs", file=sys.stderr)
    else:
        for v in views:
            say(f"{v.id:>6}  {v.type:<10} {v.status.value:<10} {v.reason}")
    return EXIT_OK


async def cmd_cancel(store: JobStore, args: argparse.Namespace) -> int:
    job = await store.cancel(parse_id(args.id))
    state = "cancelled" if job.status is JobStatus.CANCELLED else "cancel requested"
    print(f"job {job.id}: {state}")
    return EXIT_OK


async def cmd_resubmit(store: JobStore, args: argparse.Namespace) -> int:
    job = await store.resubmit(parse_id(args.id))
    print(job.id)
    return EXIT_OK


def iso_utc(at: float) -> str:
    """``2026-01-02T03:04:05.678Z``: ISO 8601, UTC, milliseconds."""
    moment = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def cmd_history(store: JobStore, args: argparse.Namespace) -> int:
    for entry in await store.history(parse_id(args.id)):
        say(
            f"{iso_utc(entry.at)} {entry.from_status or '-':>9} -> {entry.to_status:<9} "
            f"lease={entry.lease_token} worker={entry.worker_id or '-'} {entry.reason or ''}"
        )
    return EXIT_OK


async def watch(store: JobStore, job_id: int, *, interval: float = 0.5, out: Any = None) -> JobView:
    """Show a live bar until the job ends; returns the final view."""
    out = out or sys.stderr
    tty = out.isatty()
    last = ""
    while True:
        view = await store.poll(job_id)
        line = printable(
            f"job {view.id} {view.type}: {_bar(view) if not view.status.terminal else view.reason}"
        )
        if line != last:
            out.write(("\r\x1b[2K" if tty else "") + line + ("" if tty else "\n"))
            out.flush()
            last = line
        if view.status.terminal:
            if tty:
                out.write("\n")
            return view
        import trio

        await trio.sleep(interval)


MIN_WATCH_INTERVAL = 0.05


async def cmd_watch(store: JobStore, args: argparse.Namespace) -> int:
    if not (math.isfinite(args.interval) and args.interval >= MIN_WATCH_INTERVAL):
        raise CliError(
            f"--interval must be a number of seconds from {MIN_WATCH_INTERVAL:g}, "
            f"got {args.interval:g}"
        )
    view = await watch(store, parse_id(args.id), interval=args.interval)
    return _exit_code(view.status)


def _worker_config(args: argparse.Namespace) -> WorkerConfig:
    return WorkerConfig.from_env(
        args.environment,
        worker_id=args.worker_id,
        poll_interval=args.poll_interval,
        heartbeat_interval=args.heartbeat_interval,
        stale_after=args.stale_after,
        reaper_interval=args.reaper_interval,
        shutdown_grace=args.shutdown_grace,
        kill_grace=args.kill_grace,
        shutdown_timeout=args.shutdown_timeout,
    )


def parse_address(text: str, option: str = "--http") -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8000`` for IPv6) for ``run --http`` and ``--metrics-listen``."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise CliError(f"{option} takes HOST:PORT, e.g. 127.0.0.1:8000, got {text!r}")
    return host, int(port)


def _default_port(env: Environment) -> int:
    raw = env.get("PORT", "").strip()
    if not raw:
        return int(declared("PORT").default or 0)
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise CliError(f"PORT must be a port number, got {raw!r}")
    return int(raw)


def _http_service(
    env: Environment,
    store: JobStore,
    host: str,
    port: int,
    handlers: str | None,
    config: WorkerConfig,
    metrics: Metrics,
    *,
    worker: bool,
) -> Service:
    """The HTTP server as a service for the lifecycle, serving ``metrics`` at /metrics.
    ``web`` is imported here, not at the top: ``supervisor`` works without the HTTP layer
    loaded (and never imports it back). It accepts the job types live workers serve (the
    registry)."""
    import web

    types = load_job_types(handlers)
    # A worker checks payloads by its own types' rules; `serve` by a named module's only.
    checks = payload_checks(types) if worker or handlers else {}
    try:
        settings = web.WebSettings.from_env(
            env,
            stale_after=config.stale_after,
            heartbeat_interval=config.heartbeat_interval,
            payload_checks=checks,
        )
        settings.check_exposure(host)
    except web.WebConfigError as exc:
        raise CliError(str(exc)) from None
    metrics.watch_store(store)
    render = functools.partial(metrics.render, store)
    return functools.partial(web.serve_http, store, host, port, settings, metrics=render)


def _metrics_service(
    store: JobStore, address: str, metrics: Metrics, running: Callable[[], bool]
) -> Service:
    """The worker's metrics and health listener (``web.serve_metrics``: no API, no token)."""
    import web

    host, port = parse_address(address, "--metrics-listen")
    render = functools.partial(metrics.render, store)

    async def serve(stop: trio.Event, *, task_status: trio.TaskStatus[str]) -> None:
        try:
            await web.serve_metrics(
                store, host, port, stop, metrics=render, running=running, task_status=task_status
            )
        except JobStoreError:
            raise  # an OSError too, and not the listener's
        except OSError as exc:  # the address is taken or cannot be bound
            raise CliError(f"cannot serve metrics on {address}: {exc}") from exc

    return serve


def _leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


async def cmd_run(store: JobStore, args: argparse.Namespace) -> int:
    from ._lifecycle import run_worker
    from ._supervisor import RestartIntensityExceeded

    types = load_job_types(args.handlers)
    config = _worker_config(args)
    listen = args.metrics_listen or args.environment.get("SUPERVISOR_METRICS_LISTEN")
    services: list[Service] = []
    monitors: list[Service] = []
    observers, on_start = [], None
    if args.http is not None or listen is not None:
        from ._metrics import Metrics

        metrics = Metrics()
        metrics.watch_store(store)
        observers, on_start = [metrics.observe], metrics.attach
        if args.http is not None:
            host, port = parse_address(args.http)
            services.append(
                _http_service(
                    args.environment, store, host, port, args.handlers, config, metrics, worker=True
                )
            )
        if listen is not None:
            monitors.append(_metrics_service(store, listen, metrics, metrics.worker_running))
    code = EXIT_OK
    try:
        await run_worker(
            store,
            types,
            config,
            services=services,
            monitors=monitors,
            observers=observers,
            on_start=on_start,
        )
    except* RestartIntensityExceeded as group:
        say(f"supervisor: giving up: {_leaf(group)}", file=sys.stderr)
        code = EXIT_FAILED
    except* JobStoreError:
        raise  # a store error is an OSError too, and not the server's: as without --http
    except* OSError as group:
        if args.http is None:
            raise
        say(f"supervisor: cannot serve HTTP on {args.http}: {_leaf(group)}", file=sys.stderr)
        code = EXIT_USAGE
    return code


async def cmd_serve(store: JobStore, args: argparse.Namespace) -> int:
    from ._lifecycle import run_service
    from ._metrics import Metrics

    env = args.environment
    port = _default_port(env) if args.port is None else args.port
    config = WorkerConfig.from_env(env)
    service = _http_service(
        env, store, args.host, port, args.handlers, config, Metrics(), worker=False
    )
    code = EXIT_OK
    try:
        await run_service(store, service)
    except* JobStoreError:
        raise  # a store error is an OSError too, and not the server's
    except* OSError as group:
        say(f"supervisor: cannot serve on {args.host}:{port}: {_leaf(group)}", file=sys.stderr)
        code = EXIT_USAGE
    return code


async def cmd_prune(store: JobStore, args: argparse.Namespace) -> int:
    from actors import prune_once, sweep_uploads
    from files import StorageError, get_storage

    config = WorkerConfig.from_env(args.environment)
    retention = config.retention
    if not retention and not config.retain_uploads:
        print("retention is off (every SUPERVISOR_RETAIN_* is 0): nothing to prune")
        return EXIT_OK
    uploads = 0
    try:
        storage = get_storage()
        counts = await prune_once(
            store, retention, batches=None, dry_run=args.dry_run, storage=storage
        )
        if config.retain_uploads:
            uploads = await sweep_uploads(
                storage, config.retain_uploads, dry_run=args.dry_run, limit=None
            )
    except StorageError as exc:
        raise CliError(f"pruning stopped: {exc}") from None
    outputs = counts.pop("outputs", 0)
    verb = "would delete" if args.dry_run else "deleted"
    kept = [f"{status} after {seconds:g} s" for status, seconds in retention.items()]
    if config.retain_uploads:
        kept.append(f"uploads after {config.retain_uploads:g} s")
    listed = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no"
    print(
        f"{verb} {listed} jobs with their history, {outputs} output files and {uploads} "
        f"uploads (retention: {', '.join(kept)})"
    )
    return EXIT_OK


async def cmd_demo(store: JobStore, args: argparse.Namespace) -> int:
    from ._demo import run_demo

    logging.getLogger().setLevel(logging.ERROR)  # the live lines are the output here
    views = await run_demo(store)
    return EXIT_OK if all(v.status.terminal for v in views) else EXIT_FAILED


class _VersionAction(argparse.Action):
    """``--version``: reads the version only when asked (importlib.metadata is not free)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        print(f"{parser.prog} {version()}")
        parser.exit()


def program_name() -> str:
    """``media-jobs`` when run as the console script, else ``python -m supervisor``."""
    return "media-jobs" if os.path.basename(sys.argv[0]) == "media-jobs" else "python -m supervisor"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``only``, just that sub-command's (what a one-shot
    call parses: building every sub-command's parser took 15 ms of a 100 ms call)."""
    prog = program_name()
    parser = argparse.ArgumentParser(
        prog=prog,
        # Fixed, so an error found by a parser built for one command lists them all too.
        usage=f"%(prog)s [-h] [--handlers HANDLERS] {{{','.join(COMMANDS)}}} ...",
        description="Durable media jobs: run a worker, or submit and inspect jobs. The store "
        "is a local SQLite file (JOBS_DB_PATH, default ./data/jobs.db) unless "
        "TURSO_DATABASE_URL is set.",
    )
    handlers_help = (
        "module whose JOB_TYPES to serve (default: SUPERVISOR_HANDLERS, else the reference "
        "job types); for run, submit and serve, before or after the command"
    )
    parser.add_argument("--handlers", help=handlers_help)
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", prog=prog)

    def command(name: str, text: str) -> argparse.ArgumentParser | None:
        """The sub-command's parser, if this parser is to have it (else None)."""
        return sub.add_parser(name, help=text) if only is None or only == name else None

    if run := command("run", "run a worker until SIGTERM/SIGINT (the default)"):
        run.add_argument("--worker-id")
        run.add_argument(
            "--http",
            metavar="HOST:PORT",
            help="also serve the API and dashboard from this worker (see `serve`)",
        )
        run.add_argument(
            "--metrics-listen",
            metavar="HOST:PORT",
            help="serve /metrics and /healthz only (no API, no token) on this address, e.g. "
            "0.0.0.0:9100 on Render's private network (default: SUPERVISOR_METRICS_LISTEN)",
        )
        for name in (
            "poll-interval",
            "heartbeat-interval",
            "stale-after",
            "reaper-interval",
            "shutdown-grace",
            "kill-grace",
            "shutdown-timeout",
        ):
            run.add_argument(
                f"--{name}",
                type=float,
                metavar="SECONDS",
                help=f"overrides SUPERVISOR_{name.upper().replace('-', '_')}",
            )

    if submit := command("submit", "create a job; prints its id"):
        submit.add_argument("type")
        submit.add_argument("--payload", help="the job's JSON payload")
        submit.add_argument("--max-attempts", type=int)
        submit.add_argument(
            "--idempotency-key",
            metavar="KEY",
            help="make at most one job for KEY: run again with the same KEY and request, it "
            "prints the first job's id (keys are kept SUPERVISOR_RETAIN_IDEMPOTENCY_KEYS)",
        )
        submit.add_argument(
            "--file", help="upload this file first; its key becomes the payload's 'input'"
        )

    if status := command("status", "show one job"):
        status.add_argument("id")
        status.add_argument("--json", action="store_true", help="one JSON object")

    if listing := command("list", "list jobs, newest first"):
        listing.add_argument("--status", choices=[s.value for s in JobStatus])
        listing.add_argument("--type")
        listing.add_argument("--limit", type=int, default=50)
        listing.add_argument("--json", action="store_true", help="a JSON array")

    for name, text in (
        ("cancel", "cancel a job"),
        ("resubmit", "run a failed or cancelled job again, as a new one; prints its id"),
        ("history", "show every transition of a job"),
    ):
        if one := command(name, text):
            one.add_argument("id")

    if watch_cmd := command(
        "watch",
        "live progress until the job ends; exit status 0 completed, 1 failed, 3 cancelled",
    ):
        watch_cmd.add_argument("id")
        watch_cmd.add_argument("--interval", type=float, default=0.5)
    if fetch := command("fetch", "download a job's outputs; prints their paths"):
        fetch.add_argument("id")
        fetch.add_argument(
            "-o", "--output", help="file (one output) or folder (default: here) to write to"
        )
    command("demo", "a worker in-process and a few real jobs, shown live")
    if prune := command(
        "prune",
        "delete finished jobs past their retention (SUPERVISOR_RETAIN_*) with their history",
    ):
        prune.add_argument("--dry-run", action="store_true", help="count them, delete nothing")

    if serve := command(
        "serve",
        "serve the HTTP API and the dashboard until SIGTERM/SIGINT "
        "(SUPERVISOR_API_TOKEN: required off loopback)",
    ):
        serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
        serve.add_argument(
            "--port", type=int, help="default $PORT, else 8000; 0 picks a free port (logged)"
        )

    # The same option after the sub-command (`run --handlers myjobs`); SUPPRESS keeps a value
    # given before the sub-command when it is not repeated after it. Offered only by the
    # commands that load the module; the others take it unseen, so `main` refuses it in
    # one line wherever it was written.
    for name, each in sub.choices.items():
        shown = handlers_help if name in HANDLER_COMMANDS else argparse.SUPPRESS
        each.add_argument("--handlers", default=argparse.SUPPRESS, help=shown)
    return parser


#: The commands that load a handlers module (``--handlers``, ``SUPERVISOR_HANDLERS``).
HANDLER_COMMANDS = ("run", "submit", "serve")


#: Commands that run an event loop (a worker, a live view); the others are one-shots.
LOOP_COMMANDS = frozenset({"run", "watch", "demo", "prune", "serve", "fetch"})

COMMANDS: dict[str, Callable[[JobStore, argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "run": cmd_run,
    "submit": cmd_submit,
    "status": cmd_status,
    "list": cmd_list,
    "cancel": cmd_cancel,
    "resubmit": cmd_resubmit,
    "history": cmd_history,
    "watch": cmd_watch,
    "fetch": cmd_fetch,
    "demo": cmd_demo,
    "prune": cmd_prune,
    "serve": cmd_serve,
}


def _command_in(argv: Sequence[str]) -> str | None:
    """The sub-command ``argv`` names, if it plainly names one (else None: the whole parser
    then reads it, for help, the default command or an error that lists the commands)."""
    words = iter(argv)
    for word in words:
        if word == "--handlers":
            next(words, None)
        elif not word.startswith("--handlers="):
            return word if word in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(_command_in(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    command = args.command or "run"
    if command == "run" and args.command is None:
        args = parser.parse_args([*(argv or sys.argv[1:]), "run"])
    if command not in HANDLER_COMMANDS and getattr(args, "handlers", None) is not None:
        parser.error(
            f"--handlers applies to run, submit and serve only: {command} loads no job types"
        )
    # The environment, read once: every command takes its settings from this snapshot.
    args.environment = env = environment()
    args.handlers = getattr(args, "handlers", None) or env.get("SUPERVISOR_HANDLERS")
    if command in LOOP_COMMANDS and (shared := conflict_line()):
        # Checked where a worker or a server starts; a one-shot skips the ~50 ms scan.
        say(f"supervisor: {shared}", file=sys.stderr)
        return EXIT_USAGE
    try:
        configure_logging(fmt=env.get("SUPERVISOR_LOG_FORMAT"))
    except ValueError as exc:
        say(f"supervisor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        code = _dispatch(command, args)
        sys.stdout.flush()  # a reader that went away shows here, not in the exit's flush
        return code
    except BrokenPipeError:
        # `status ID | head -1`: the reader has what it wanted. Stop quietly, and point
        # the streams at /dev/null so the interpreter's own final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            os.dup2(devnull, stream.fileno())
        return EXIT_PIPE


def _dispatch(command: str, args: argparse.Namespace) -> int:
    """Run ``command``; a person's mistake is one line on stderr and exit 2."""
    try:
        # Moving files takes the storage adapter, which runs in Trio.
        if command in LOOP_COMMANDS or getattr(args, "file", None) is not None:
            import trio

            return trio.run(_with_store, COMMANDS[command], args)
        return run_sync(_with_store(COMMANDS[command], args))
    except (CliError, ConfigError, JobStoreError) as exc:
        say(f"supervisor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BaseExceptionGroup as group:
        # From inside a nursery: one line too, if every error in it is the person's to fix.
        usage, rest = group.split((CliError, ConfigError, JobStoreError))
        if usage is None or rest is not None:
            raise
        say(f"supervisor: {_leaves(usage)[0]}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]
