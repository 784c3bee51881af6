"""Who may use the API: a bearer token, or the dashboard's session cookie.

With ``SUPERVISOR_API_TOKEN`` set, every request but ``GET /healthz`` and the login form
needs ``Authorization: Bearer <token>`` or the session cookie the login form sets (HttpOnly,
SameSite=Strict, Secure over HTTPS): a random session id with an expiry, signed with a key
derived from the token (see ``_sessions``); logging out revokes it, changing the token ends
every session. Failed logins are throttled per address and logged (never with what was
typed). Token comparisons hash both sides first, so they take the same time whatever the
guess (length included). Neither the token nor the cookie is ever logged.

Without a token (loopback only, see ``WebSettings.check_exposure``), requests must name a
loopback host: a web page elsewhere cannot reach the API through DNS rebinding. Whatever
the mode, a state-changing request authenticated by a cookie (or by nothing) is refused when
its ``Origin`` is another site, unless, without a token, that origin is one the operator
allowed (``SUPERVISOR_CORS_ORIGINS``, see ``_cors``); a cookie never serves another origin.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ._connections import ConnectionGate
from ._errors import error_response
from ._sessions import LoginThrottle, Sessions
from ._settings import WebSettings, is_loopback

__all__ = ["COOKIE", "AuthMiddleware", "login", "login_page", "logout"]

COOKIE = "mj_session"
PUBLIC = frozenset(
    {
        ("GET", "/healthz"),
        ("HEAD", "/healthz"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("POST", "/logout"),
    }
)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
#: Form fields a login may carry (the form has one: ``token``).
MAX_FORM_FIELDS = 4

log = logging.getLogger("web")


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison, whatever the lengths."""
    return hmac.compare_digest(_digest(given), _digest(expected))


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _cookie(headers: dict[str, str]) -> str | None:
    # Split by hand: SimpleCookie gives up on a whole header when any other cookie on the
    # host (another app on another port of localhost) is not to its taste.
    for part in headers.get("cookie", "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name == COOKIE:
            return value.strip().strip('"') or None
    return None


def authenticate(
    settings: WebSettings, sessions: Sessions | None, headers: dict[str, str]
) -> str | None:
    """How the request proved itself: "bearer", "cookie", "open" (no token set), or None."""
    token = settings.token
    if token is None:
        return "open"
    scheme, _, given = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and given and same_secret(given.strip(), token):
        return "bearer"
    cookie = _cookie(headers)
    if cookie is not None and sessions is not None and sessions.valid(cookie):
        return "cookie"
    return None


def _cross_site(headers: dict[str, str]) -> bool:
    """True when a browser says the request comes from a page of another site."""
    origin = headers.get("origin")
    if origin is None:
        return False  # not sent by a browser's cross-site request (curl, same-origin GET)
    return urlsplit(origin).netloc.lower() != headers.get("host", "").lower()


class AuthMiddleware:
    """Pure ASGI (streams pass through untouched); see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        settings: WebSettings,
        sessions: Sessions | None,
        gate: ConnectionGate | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.sessions = sessions
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> Response | None:
        headers = _headers(scope)
        method, path = scope["method"], scope["path"]
        if self.settings.token is None:
            host = urlsplit(f"//{headers.get('host', '')}").hostname or ""
            if not is_loopback(host):
                return error_response(
                    403,
                    "this server has no SUPERVISOR_API_TOKEN and answers only to localhost "
                    "addresses",
                )
        how = authenticate(self.settings, self.sessions, headers)
        if how is not None and self.gate is not None:
            self.gate.authenticated(scope.get("client"))  # no longer an anonymous connection
        if how is None and (method, path) not in PUBLIC:
            if method == "GET" and path == "/" and "text/html" in headers.get("accept", ""):
                return login_page(status=401)
            return error_response(
                401,
                "missing or wrong token: send Authorization: Bearer <SUPERVISOR_API_TOKEN>, or "
                "log in at /",
                {"WWW-Authenticate": 'Bearer realm="media-jobs"'},
            )
        if method not in SAFE_METHODS and how != "bearer" and _cross_site(headers):
            if not (how == "open" and headers.get("origin") in self.settings.cors_origins):
                return error_response(
                    403, "cross-site request refused: use the dashboard's own page"
                )
        return None


def login_page(
    *, status: int = 200, message: str = "", headers: dict[str, str] | None = None
) -> HTMLResponse:
    template = resources.files("web").joinpath("static/login.html").read_text("utf-8")
    body = template.replace("<!--MESSAGE-->", _escape(message))
    return HTMLResponse(body, status_code=status, headers=headers)


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _form_token(request: Request) -> str | Response:
    """The form's ``token``, or the page that refuses the form."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > 4096:
            return login_page(status=413, message="That is too long to be a token.")
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=MAX_FORM_FIELDS)
    except ValueError:  # over MAX_FORM_FIELDS: not the login form
        return login_page(status=400, message="That is not the login form: send only the token.")
    return (fields.get("token") or [""])[0].strip()


async def login(request: Request) -> Response:
    """The login form (GET); its POST: the right token sets a new session cookie and goes to
    the dashboard, a wrong one shows the form again (401); too many wrong ones from one
    address answer 429 for a while (see ``_sessions``)."""
    settings: WebSettings = request.app.state.settings
    if request.method == "GET":
        return login_page()
    if settings.token is None:
        return RedirectResponse("/", status_code=303)
    throttle: LoginThrottle = request.app.state.login_throttle
    address = _address(request)
    wait = throttle.retry_after(address)
    if wait is not None:
        return login_page(
            status=429,
            message=f"Too many wrong tokens from your address: try again in {wait} s.",
            headers={"Retry-After": str(wait)},
        )
    given = await _form_token(request)
    if isinstance(given, Response):
        return given
    if not same_secret(given, settings.token):
        count = throttle.failed(address)
        log.warning("login failed from %s (%d in the last minute)", address, count)
        return login_page(status=401, message="Wrong token. Ask whoever runs this server.")
    sessions: Sessions = request.app.state.sessions
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        sessions.issue(),
        httponly=True,
        samesite="strict",
        secure=_https(request),
        path="/",
    )
    return response


async def logout(request: Request) -> Response:
    """Ends the session: its cookie is revoked here and deleted in the browser."""
    sessions: Sessions | None = request.app.state.sessions
    cookie = _cookie({"cookie": request.headers.get("cookie", "")})
    if sessions is not None and cookie is not None:
        sessions.revoke(cookie)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=_https(request)
    )
    return response


def _https(request: Request) -> bool:
    # Render (and most platforms) terminate TLS in front and say so in X-Forwarded-Proto.
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    return request.url.scheme == "https" or forwarded == "https"
