"""Serving the app with Hypercorn in Trio mode, beside its broadcaster, until told to stop.

Why Hypercorn: the worker is a Trio program, and ``run --http`` serves the API from inside
it (one process, one store object, so a job created through the API wakes the poller at
once). Hypercorn runs on Trio; uvicorn does not.
"""

from __future__ import annotations

import logging

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from stores import JobStore

from ._app import MetricsRenderer, create_app
from ._broadcast import Broadcaster
from ._settings import WebSettings

__all__ = ["serve_http"]

log = logging.getLogger("web")

#: Seconds requests in flight get to finish once the server is told to stop.
GRACEFUL_TIMEOUT = 5.0


def _config(host: str, port: int) -> Config:
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None  # request lines could carry ids a log need not keep; never tokens
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = GRACEFUL_TIMEOUT
    config.include_server_header = False
    return config


async def serve_http(
    store: JobStore,
    host: str,
    port: int,
    settings: WebSettings,
    stop: trio.Event,
    *,
    broadcaster: Broadcaster | None = None,
    metrics: MetricsRenderer | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the API and dashboard on ``host:port`` until ``stop`` is set; reports the URL
    it listens on (``port`` 0 picks a free one) through ``task_status``. The live updates
    come from ``broadcaster`` (default: a new one on ``store``), which this runs; ``metrics``
    renders ``/metrics``.

    Raises :class:`WebConfigError` before listening when a non-loopback host has no token,
    ``OSError`` when the address is taken.

    Cancellation: stops at once (open streams are cut). Setting ``stop`` is the graceful
    way: the event streams end, requests in flight get ``GRACEFUL_TIMEOUT`` seconds.
    """
    settings.check_exposure(host)
    broadcaster = broadcaster or Broadcaster(store, interval=settings.tick)
    app = create_app(store, settings, broadcaster, metrics)

    async def shutdown_trigger() -> None:
        await stop.wait()
        broadcaster.close()  # every event stream ends, so the graceful stop is quick

    config = _config(host, port)
    async with trio.open_nursery() as nursery:

        async def serve_then_cancel(*, task_status: trio.TaskStatus[list[str]]) -> None:
            try:
                await serve(
                    app,  # type: ignore[arg-type]  # Starlette is an ASGI 3 app
                    config,
                    shutdown_trigger=shutdown_trigger,
                    task_status=task_status,
                )
            finally:
                nursery.cancel_scope.cancel()  # the server ended: so does the broadcaster

        await nursery.start(broadcaster.run)
        binds: list[str] = await nursery.start(serve_then_cancel)
        url = binds[0]
        log.info("serving the API and dashboard on %s (token %s)", url, _token_state(settings))
        task_status.started(url)


def _token_state(settings: WebSettings) -> str:
    return "required" if settings.token else "not required: loopback only"
