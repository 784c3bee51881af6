"""The HTTP layer: a JSON API, Server-Sent Events and a dashboard over a job store.

Starlette on Hypercorn in Trio mode. ``web`` imports ``stores`` only; ``supervisor``'s CLI
imports ``web`` lazily for ``serve``, ``run --http`` and ``run --metrics-listen``, so
``stores``, ``actors`` and ``supervisor`` never need it at import time.
"""

from __future__ import annotations

from ._app import create_app
from ._broadcast import Broadcaster
from ._listener import serve_metrics
from ._server import serve_http
from ._settings import TOKEN_ENV, WebConfigError, WebSettings, is_loopback

__all__ = [
    "TOKEN_ENV",
    "Broadcaster",
    "WebConfigError",
    "WebSettings",
    "create_app",
    "is_loopback",
    "serve_http",
    "serve_metrics",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("web._"):
        _obj.__module__ = __name__
