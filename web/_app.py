"""The ASGI application: routes, the dashboard's files, errors as JSON, authentication."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from files import Storage, get_storage
from stores import JobStore

from . import _auth
from ._api import ROUTES
from ._broadcast import Broadcaster
from ._errors import EXCEPTION_HANDLERS
from ._files import FILE_ERRORS, FILE_ROUTES, bucket_origin, new_upload_secret
from ._settings import WebSettings

__all__ = ["PROMETHEUS_TEXT", "MetricsRenderer", "create_app"]

_STATIC = resources.files("web").joinpath("static")


async def dashboard(request: Request) -> Response:
    page = _STATIC.joinpath("index.html").read_bytes()
    return Response(page, media_type="text/html", headers=request.app.state.page_headers)


def _page_headers(bucket: str | None) -> dict[str, str]:
    """The page loads only its own script and style and is never framed by another site;
    with S3 storage it may also upload to and play from the bucket (``bucket``, an origin)."""
    files = f" {bucket}" if bucket else ""
    return {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'{files}; media-src 'self'{files}; frame-ancestors 'none'; "
            "form-action 'self'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


#: Renders the metrics in Prometheus text format (``supervisor``'s ``Metrics.render``).
MetricsRenderer = Callable[[], Awaitable[bytes]]
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def create_app(
    store: JobStore,
    settings: WebSettings,
    broadcaster: Broadcaster | None = None,
    metrics: MetricsRenderer | None = None,
    storage: Storage | None = None,
) -> Starlette:
    """The API and the dashboard over ``store``. ``broadcaster`` feeds the event streams;
    whoever serves the app runs it (see ``serve_http``); by default a new one is made.
    ``metrics``, if given, is served at ``/metrics`` (behind the token like the API)."""
    routes: list[BaseRoute] = [Route(path, fn, methods=methods) for path, fn, methods in ROUTES]
    routes += [Route(path, fn, methods=m, name=name) for path, fn, m, name in FILE_ROUTES]
    routes += [
        Route("/", dashboard, methods=["GET"]),
        Route("/login", _auth.login, methods=["GET", "POST"]),
        Route("/logout", _auth.logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(_STATIC)), name="static"),
    ]
    if metrics is not None:
        render = metrics

        async def serve_metrics(request: Request) -> Response:
            return Response(await render(), media_type=PROMETHEUS_TEXT)

        routes.append(Route("/metrics", serve_metrics, methods=["GET"]))
    app = Starlette(
        routes=routes,
        middleware=[Middleware(_auth.AuthMiddleware, settings=settings)],
        exception_handlers={**EXCEPTION_HANDLERS, **FILE_ERRORS},
    )
    app.state.store = store
    app.state.storage = storage = storage or get_storage()  # the files (uploads, outputs)
    app.state.upload_secret = new_upload_secret()
    app.state.page_headers = _page_headers(bucket_origin(storage))
    app.state.settings = settings
    app.state.broadcaster = broadcaster or Broadcaster(store, interval=settings.tick)
    return app
