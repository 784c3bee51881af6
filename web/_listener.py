"""A worker's metrics and health listener (``run --metrics-listen``): ``GET /metrics`` and
``GET /healthz``, nothing else.

Rationale. A Prometheus must reach each worker to read what only that worker knows (its
running job's heartbeat age, its actor restarts, the queue wait of the jobs it claimed), but
serving the whole API from a worker for that (``run --http``) would put the API, the
dashboard and their token on the network too. This listener has no API, no files, no login
and no token: what it answers names no job and carries no payload, so it may listen on every
interface of a private network (Render's private services) without one. Its connections are
capped like the API's (``ConnectionGate``), all of them anonymous.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stores import JobStore

from ._app import PROMETHEUS_TEXT, MetricsRenderer
from ._connections import ConnectionGate
from ._headers import SecurityHeaders
from ._health import HealthCheck
from ._server import bind, serve_app, server_config

__all__ = ["serve_metrics"]

log = logging.getLogger("web")

#: Connections at once: a scraper or two and a health check need few.
MAX_CONNECTIONS = 16
#: Seconds a request's headers may take (as the API's default).
HEADER_TIMEOUT = 5.0


def metrics_app(
    store: JobStore, metrics: MetricsRenderer, running: Callable[[], bool]
) -> Starlette:
    """``/metrics`` (``metrics``), and ``/healthz``: 200 while ``running()`` and the store
    answers; 503 otherwise (``"stopping"`` once the worker stops, so a scraper or a load
    balancer sees the drain)."""
    health = HealthCheck(store)

    async def serve_metrics(request: Request) -> Response:
        return Response(await metrics(), media_type=PROMETHEUS_TEXT)

    async def healthz(request: Request) -> Response:
        if not running():
            return JSONResponse(
                {"status": "stopping", "error": "the worker is not running jobs"},
                status_code=503,
            )
        return await health.answer()

    routes = [
        Route("/metrics", serve_metrics, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(SecurityHeaders)
    return app


async def serve_metrics(
    store: JobStore,
    host: str,
    port: int,
    stop: trio.Event,
    *,
    metrics: MetricsRenderer,
    running: Callable[[], bool] = lambda: True,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve :func:`metrics_app` on ``host:port`` until ``stop`` is set; reports the URL
    (``port`` 0 picks a free one). ``OSError`` when the address is taken.

    Cancellation: stops at once. Setting ``stop`` is the graceful way (requests in flight
    get a few seconds)."""
    app = metrics_app(store, metrics, running)
    gate = ConnectionGate(MAX_CONNECTIONS, MAX_CONNECTIONS)
    config = server_config(host, port, HEADER_TIMEOUT)
    listeners = bind(config)

    def started(url: str) -> None:
        log.info("serving metrics and health on %s (no API, no token)", url)
        task_status.started(url)

    await serve_app(app, gate, config, listeners, stop, started)
