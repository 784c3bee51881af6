"""Serving the app with Hypercorn in Trio mode, beside its broadcaster, until told to stop.

Why Hypercorn: the worker is a Trio program, and ``run --http`` serves the API from inside
it (one process, one store object, so a job created through the API wakes the poller at
once). Hypercorn runs on Trio; uvicorn does not.

Why our own accept loop around Hypercorn's connection handler (``TCPServer``) rather than
``hypercorn.trio.serve``: that one accepts every connection it is offered, and a server
that shares its file descriptors with the jobs it runs must not (see ``_connections``).
The rest is Hypercorn's: HTTP/1.1 through h11, keep-alive, the graceful stop. There is no
ASGI lifespan (the app has no start-up or shutdown handlers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import repr_socket_addr, wrap_app
from starlette.applications import Starlette

from stores import JobStore

from ._app import MetricsRenderer, create_app
from ._broadcast import Broadcaster
from ._connections import ConnectionGate
from ._settings import WebSettings

__all__ = ["bind", "serve_app", "serve_http", "server_config"]

log = logging.getLogger("web")

#: Seconds requests in flight get to finish once the server is told to stop.
GRACEFUL_TIMEOUT = 5.0


def server_config(host: str, port: int, header_timeout: float) -> Config:
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None  # request lines could carry ids a log need not keep; never tokens
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = GRACEFUL_TIMEOUT
    config.include_server_header = False
    # Runs from a connection's start (or its last answer) until a request's headers are in.
    config.keep_alive_timeout = header_timeout
    return config


def bind(config: Config) -> list[trio.SocketListener]:
    """Bound and listening, before anything is served (``OSError`` if the address is taken)."""
    listeners = []
    for sock in config.create_sockets().insecure_sockets:
        sock.listen(config.backlog)
        listeners.append(trio.SocketListener(trio.socket.from_stdlib_socket(sock)))
    return listeners


def _url(listener: trio.SocketListener) -> str:
    sock = listener.socket
    return f"http://{repr_socket_addr(sock.family, sock.getsockname())}"


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
    gate: ConnectionGate = app.state.connections
    config = server_config(host, port, settings.header_timeout)
    listeners = bind(config)  # before anything runs: a taken address raises OSError here

    def started(url: str) -> None:
        log.info(
            "serving the API and dashboard on %s (token %s; at most %d connections, %d anonymous)",
            url,
            _token_state(settings),
            gate.max_connections,
            gate.max_anonymous,
        )
        task_status.started(url)

    async with trio.open_nursery() as nursery:
        await nursery.start(broadcaster.run)
        await serve_app(app, gate, config, listeners, stop, started, before_stop=broadcaster.close)
        nursery.cancel_scope.cancel()  # the server ended: so does the broadcaster


async def serve_app(
    app: Starlette,
    gate: ConnectionGate,
    config: Config,
    listeners: list[trio.SocketListener],
    stop: trio.Event,
    started: Callable[[str], None],
    *,
    before_stop: Callable[[], None] = lambda: None,
) -> None:
    """Serve ``app`` through ``gate`` on ``listeners`` (:func:`bind`) until ``stop`` is set;
    ``started`` gets the URL once listening; ``before_stop`` runs first when stopping (the
    event streams end, so the graceful stop is quick).

    Cancellation: stops at once. Setting ``stop`` is the graceful way: requests in flight
    get ``GRACEFUL_TIMEOUT`` seconds."""
    context = WorkerContext(None)
    asgi = wrap_app(app, config.wsgi_max_body_size, "asgi")  # type: ignore[arg-type]  # Starlette is an ASGI 3 app

    async def connection(stream: trio.SocketStream) -> None:
        # A plain socket stream, as Hypercorn's own listener hands it (typed as SSL there).
        plain: Any = stream
        await TCPServer(asgi, config, context, ConnectionState({}), plain).run()

    async with trio.open_nursery() as connections:
        for listener in listeners:
            await connections.start(gate.serve, listener, connection)
        started(_url(listeners[0]))
        await stop.wait()
        before_stop()
        for listener in listeners:
            await listener.aclose()
        await context.terminated.set()  # idle keep-alive connections close now
        connections.cancel_scope.deadline = trio.current_time() + GRACEFUL_TIMEOUT


def _token_state(settings: WebSettings) -> str:
    return "required" if settings.token else "not required: loopback only"
