"""Headers every answer carries, set in one place (issue 16).

* No page of this server may be framed by any site (``frame-ancestors 'none'`` and, for
  older browsers, ``X-Frame-Options: DENY``), nor its answers sniffed as another type.
* ``Cache-Control: no-store`` unless the endpoint chose otherwise: the API's answers are
  per user and live, and must stay out of shared and browser caches. The dashboard page and
  its static files are the same for everyone: ``no-cache`` (revalidate, then reuse).
* The dashboard page's own ``Content-Security-Policy`` (scripts and styles from this origin
  only) is set by its route; every other answer gets a policy that loads nothing at all.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeaders", "page_policy"]


#: The dashboard page loads only its own script and style and is never framed.
def page_policy(bucket: str | None = None) -> str:
    """The page's policy: its own script and style only, never framed; with S3 storage it
    may also upload to and play from the bucket (``bucket``, an origin)."""
    files = f" {bucket}" if bucket else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'{files}; media-src 'self'{files}; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    )


#: Everything else (JSON, the metrics, files, the login page: no script, its inline style).
_DEFAULT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)
_ALWAYS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_SHARED_PREFIXES = ("/static/",)


class SecurityHeaders:
    """Pure ASGI (streams pass through untouched); see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        shared = scope["path"].startswith(_SHARED_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS.items():
                    headers[name] = value
                headers.setdefault("Content-Security-Policy", _DEFAULT_POLICY)
                headers.setdefault("Cache-Control", "no-cache" if shared else "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
