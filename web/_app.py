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
from starlette.types import ASGIApp

from files import Storage, get_storage
from stores import JobStore

from . import _auth
from ._api import ROUTES
from ._broadcast import Broadcaster
from ._connections import BodyDeadline, ConnectionGate
from ._cors import Cors
from ._errors import EXCEPTION_HANDLERS
from ._files import FILE_ERRORS, FILE_ROUTES, bucket_origin, new_upload_secret
from ._headers import SecurityHeaders, page_policy
from ._health import HealthCheck
from ._sessions import LoginThrottle, Sessions
from ._settings import WebSettings

__all__ = ["PROMETHEUS_TEXT", "MetricsRenderer", "create_app"]

_STATIC = resources.files("web").joinpath("static")


async def dashboard(request: Request) -> Response:
    page = _STATIC.joinpath("index.html").read_bytes()
    return Response(page, media_type="text/html", headers=request.app.state.page_headers)


class _App(Starlette):
    """Starlette with the security headers outside everything, its error middleware
    included: a 500 carries them too (a user middleware runs inside that one)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def _page_headers(bucket: str | None) -> dict[str, str]:
    """The same page for everyone (revalidated), with its own policy (see ``_headers``)."""
    return {"Cache-Control": "no-cache", "Content-Security-Policy": page_policy(bucket)}


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
    sessions = Sessions(settings.token) if settings.token is not None else None
    gate = ConnectionGate(settings.max_connections, settings.max_anonymous)
    # CORS outside authentication: a preflight carries no credentials and is answered
    # there; the refusals of authentication carry the CORS headers (the page can read why).
    cors = [Middleware(Cors, origins=settings.cors_origins)] if settings.cors_origins else []
    app = _App(
        routes=routes,
        middleware=[
            *cors,
            Middleware(BodyDeadline, timeout=settings.body_timeout),
            Middleware(_auth.AuthMiddleware, settings=settings, sessions=sessions, gate=gate),
        ],
        exception_handlers={**EXCEPTION_HANDLERS, **FILE_ERRORS},
    )
    app.state.store = store
    app.state.storage = storage = storage or get_storage()  # the files (uploads, outputs)
    app.state.upload_secret = new_upload_secret()
    app.state.page_headers = _page_headers(bucket_origin(storage))
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.connections = gate  # serve_http accepts through it
    app.state.login_throttle = LoginThrottle()
    app.state.health = HealthCheck(store)
    app.state.broadcaster = broadcaster or Broadcaster(store, interval=settings.tick)
    return app
