"""Cross-origin calls from a browser frontend on another origin (issue 18 #4).

Off by default. ``SUPERVISOR_CORS_ORIGINS`` lists the origins (``https://app.example.com``,
comma-separated) whose pages may call the API. For those only, a preflight (``OPTIONS``
with ``Access-Control-Request-Method``) is answered 204 here, before authentication (a
browser never sends credentials on a preflight), and actual answers carry
``Access-Control-Allow-Origin`` (that origin, echoed) and expose ``Location`` and ``ETag``.
Any other origin gets no CORS header at all, so its pages cannot read any answer; its
preflight is refused (403). ``Vary: Origin`` is on every answer, so a cache never hands
one origin's answer to another.

Rationale. No credentials mode (``Access-Control-Allow-Credentials``): a frontend sends the
token as ``Authorization: Bearer``, never the dashboard's cookie, so an allowed origin
cannot ride on a logged-in operator's session (the cookie stays same-site only, and a
cross-site request authenticated by it is still refused). ``*`` is refused: with a token,
every site's pages could drive the API with a token that leaked to one of them (a bearer
token works for whoever holds it, the allow-list at least bounds which pages may use it);
without one (loopback only), every page the developer opens could read and submit jobs on
their machine. Starlette's ``CORSMiddleware`` was not used: it answers a preflight 200,
advertises the allowed methods to refused origins and exposes headers to any origin.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import error_response
from ._settings import CORS_ENV

__all__ = ["Cors"]

_METHODS = "GET, HEAD, POST, PUT"
_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-None-Match"
_EXPOSED = "Location, ETag"
#: Seconds a browser may reuse a preflight's answer.
MAX_AGE = 600


def _vary(headers: MutableHeaders) -> None:
    present = [v.strip().lower() for v in ",".join(headers.getlist("vary")).split(",")]
    if "origin" not in present:
        headers.append("Vary", "Origin")


class Cors:
    """Pure ASGI (streams pass through untouched); see the module docstring."""

    def __init__(self, app: ASGIApp, origins: frozenset[str]) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin in self.origins
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            if origin is not None and allowed:
                await self._preflight(origin)(scope, receive, send)
                return
            refusal = f"cross-origin calls from {str(origin)[:80]!r} are not allowed ({CORS_ENV})"
            await error_response(403, refusal, {"Vary": "Origin"})(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer = MutableHeaders(scope=message)
                _vary(answer)
                if allowed:
                    answer["Access-Control-Allow-Origin"] = str(origin)
                    answer["Access-Control-Expose-Headers"] = _EXPOSED
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    def _preflight(origin: str) -> Response:
        return Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": _METHODS,
                "Access-Control-Allow-Headers": _HEADERS,
                "Access-Control-Max-Age": str(MAX_AGE),
                "Vary": "Origin",
            },
        )
