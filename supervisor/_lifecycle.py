"""A process's life: wait for the store, run a worker and/or a service, stop on signals.

``run`` (with ``--http`` and ``--metrics-listen``) and ``serve`` share this. The first
SIGTERM/SIGINT starts a graceful stop of everything (the worker stops claiming and gives its
job ``shutdown_grace``; the services are told to stop); a second one hurries it (the running
job is released at once, the services are cut). A worker that gives up (restart intensity)
ends the services too.

A *service* (an HTTP server) is any ``async def service(stop, *, task_status)`` that reports
readiness, runs until ``stop`` is set and then ends by itself. ``supervisor`` defines the
shape; the CLI hands in ``web.serve_http`` and ``web.serve_metrics``, imported only by the
commands that serve.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import trio

from actors import JobType, Observer
from stores import JobStore, JobStoreError, StoreConfigError, StoreUnavailable

from ._config import WorkerConfig
from ._supervisor import Supervisor

__all__ = ["Service", "run_service", "run_worker", "wait_for_store"]

log = logging.getLogger("supervisor")


class Service(Protocol):
    async def __call__(self, stop: trio.Event, *, task_status: trio.TaskStatus[str]) -> None: ...


async def wait_for_store(store: JobStore, attempts: int = 5) -> None:
    """Refuse to start when the database is unusable: a bounded number of tries; then
    :class:`StoreUnavailable` (the CLI prints it as one line, exit 2)."""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            await store.list(limit=1)
            return
        except StoreConfigError:
            raise
        except JobStoreError as exc:
            if attempt == attempts:
                raise StoreUnavailable(
                    f"the job database is unreachable after {attempts} tries: {exc}"
                ) from exc
            log.warning("database not reachable yet (try %d of %d): %s", attempt, attempts, exc)
            await trio.sleep(delay)
            delay *= 2


async def run_worker(
    store: JobStore,
    types: dict[str, JobType],
    config: WorkerConfig,
    *,
    services: Sequence[Service] = (),
    monitors: Sequence[Service] = (),
    observers: Iterable[Observer] = (),
    on_start: Callable[[Supervisor], None] | None = None,
) -> None:
    """Run a worker (and ``services`` beside it, on the same store object, each started
    once the worker runs) until signalled. The services are told to stop at the first
    signal; ``monitors`` (the metrics listener) only once the worker has stopped, so they
    show its shutdown. ``observers`` receive the worker's events; ``on_start`` gets the
    supervisor once made.

    Raises ``RestartIntensityExceeded`` (in an exception group) when the worker gives up.
    Cancellation: the worker is stopped the hard way (its job released, its child dead).
    """
    supervisor = Supervisor(store, types, config, observers)
    if on_start is not None:
        on_start(supervisor)
    await _run(store, supervisor, services, monitors)
    log.info("worker stopped", extra={"worker": config.worker_id})


async def run_service(store: JobStore, service: Service) -> None:
    """Run ``service`` alone until signalled (``serve``).

    Cancellation: the service is cut at once (its streams end, requests in flight are
    dropped); it has no job to release.
    """
    await _run(store, None, [service], ())
    log.info("server stopped")


async def _run(
    store: JobStore,
    supervisor: Supervisor | None,
    services: Sequence[Service],
    monitors: Sequence[Service],
) -> None:
    await wait_for_store(store)
    log.info(
        "store ready",
        extra={"store": repr(store), "worker": supervisor.worker_id if supervisor else None},
    )
    stop_service = trio.Event()
    worker_stopped = trio.Event()
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:

            async def run_parts() -> None:
                try:
                    async with trio.open_nursery() as parts:
                        if supervisor is not None:
                            await parts.start(
                                _worker_then_stop, supervisor, (stop_service, worker_stopped)
                            )
                        for service in services:
                            await parts.start(service, stop_service)
                        for monitor in monitors:
                            await parts.start(monitor, worker_stopped)
                finally:
                    nursery.cancel_scope.cancel()  # everything ended: stop listening

            async def on_signals() -> None:
                count = 0
                async for signum in signals:
                    count += 1
                    log.info("signal %s received", signal.Signals(signum).name)
                    if count == 1:
                        stop_service.set()
                        if supervisor is not None:
                            nursery.start_soon(supervisor.stop)
                    elif supervisor is not None:
                        supervisor.hurry()
                    else:
                        nursery.cancel_scope.cancel()

            nursery.start_soon(on_signals)
            await run_parts()


async def _worker_then_stop(
    supervisor: Supervisor,
    stop: tuple[trio.Event, ...],
    *,
    task_status: trio.TaskStatus[Supervisor] = trio.TASK_STATUS_IGNORED,
) -> None:
    try:
        await supervisor.run(task_status=task_status)
    finally:
        for event in stop:
            event.set()  # a worker that stopped (or gave up) takes its services along
