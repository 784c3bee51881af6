"""What the HTTP layer needs to know: the token and the timings. (The job types it accepts
are those live workers serve, read from the store's registry per request.) Each setting's
variable and default are declared once, in ``media_jobs_config``."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs

from media_jobs_config import Environment, default, environment

__all__ = ["CORS_ENV", "TOKEN_ENV", "WebConfigError", "WebSettings", "is_loopback"]

TOKEN_ENV = "SUPERVISOR_API_TOKEN"
TICK_ENV = "SUPERVISOR_EVENTS_INTERVAL"
MAX_CONNECTIONS_ENV = "SUPERVISOR_HTTP_MAX_CONNECTIONS"
MAX_ANONYMOUS_ENV = "SUPERVISOR_HTTP_MAX_ANONYMOUS"
BODY_TIMEOUT_ENV = "SUPERVISOR_HTTP_BODY_TIMEOUT"
CORS_ENV = "SUPERVISOR_CORS_ORIGINS"
#: How a refusal names a setting that comes from the environment.
_ENV_NAMES = {
    "tick": TICK_ENV,
    "max_connections": MAX_CONNECTIONS_ENV,
    "max_anonymous": MAX_ANONYMOUS_ENV,
    "body_timeout": BODY_TIMEOUT_ENV,
}


class WebConfigError(ValueError):
    """The server cannot start as configured; the message says what to change."""


def is_loopback(host: str) -> bool:
    """True for names and addresses only this machine can reach (``localhost``, 127/8, ::1).

    Anything else, including ``0.0.0.0`` and host names, counts as exposed.
    """
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@attrs.frozen
class WebSettings:
    """Settings of one HTTP server. The token is never shown by ``repr``.

    * ``token``: ``SUPERVISOR_API_TOKEN``; None serves without authentication (loopback only).
    * ``tick``: seconds between two reads of the job table for live updates.
    * ``stale_after`` / ``heartbeat_interval``: the workers' timings, from which
      :attr:`late_after` says when the dashboard calls a running job's heartbeat late
      (``/api/info`` carries both, so the page has no rule of its own).
    * ``payload_checks``: per type, its payload check (``JobType.validate``: raises
      ``ValueError`` naming the key), run before a job is created; a refusal answers 400.
    * ``max_connections`` / ``max_anonymous``: connections served at once, and how many of
      them may be anonymous; ``header_timeout`` / ``body_timeout``: seconds a request's
      headers and body may take (see ``_connections``).
    * ``cors_origins``: ``SUPERVISOR_CORS_ORIGINS``, the origins whose pages may call the
      API (see ``_cors``); empty: none.
    """

    token: str | None = attrs.field(default=None, repr=lambda t: "set" if t else "unset")
    tick: float = default(TICK_ENV)
    stale_after: float = default("SUPERVISOR_STALE_AFTER")
    heartbeat_interval: float = default("SUPERVISOR_HEARTBEAT_INTERVAL")
    payload_checks: Mapping[str, Callable[[Any], object]] = attrs.field(
        factory=dict, repr=False, eq=False
    )
    max_connections: int = int(default(MAX_CONNECTIONS_ENV))
    max_anonymous: int = int(default(MAX_ANONYMOUS_ENV))
    header_timeout: float = 5.0
    body_timeout: float = default(BODY_TIMEOUT_ENV)
    cors_origins: frozenset[str] = frozenset()

    def __attrs_post_init__(self) -> None:
        # ASCII only: an HTTP header carries bytes, which servers and clients read as
        # Latin-1, so a token beyond ASCII could be typed into the login form but never
        # sent as a Bearer header that matches.
        token = self.token
        if token is not None and not (len(token) >= 16 and token.isascii() and token.isprintable()):
            raise WebConfigError(
                f"{TOKEN_ENV} must be at least 16 printable ASCII characters "
                "(e.g. the output of `openssl rand -hex 32`)"
            )
        for name in ("tick", "stale_after", "heartbeat_interval", "header_timeout", "body_timeout"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0 and math.isfinite(value)):
                raise WebConfigError(
                    f"{_ENV_NAMES.get(name, name)} must be a positive number of seconds: {value!r}"
                )
        for name in ("max_connections", "max_anonymous"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise WebConfigError(
                    f"{_ENV_NAMES[name]} must be a positive whole number: {value!r}"
                )

    @property
    def late_after(self) -> float:
        """Seconds of silence after which the dashboard calls a running job's heartbeat
        late: two beats missed, with 2 s for the database round trips (well before
        ``stale_after``, when the job is reaped)."""
        return 2 * self.heartbeat_interval + 2

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | Environment | None = None,
        *,
        stale_after: float | None = None,
        heartbeat_interval: float | None = None,
        payload_checks: Mapping[str, Callable[[Any], object]] | None = None,
    ) -> WebSettings:
        """The token from ``SUPERVISOR_API_TOKEN``, the tick from
        ``SUPERVISOR_EVENTS_INTERVAL``, the connection limits from
        ``SUPERVISOR_HTTP_MAX_CONNECTIONS``, ``SUPERVISOR_HTTP_MAX_ANONYMOUS`` and
        ``SUPERVISOR_HTTP_BODY_TIMEOUT``, the allowed origins from
        ``SUPERVISOR_CORS_ORIGINS``; the workers' timings as given (``WorkerConfig``'s),
        else their declared defaults."""
        env = environment(env)
        token = env.get(TOKEN_ENV, "").strip() or None
        return cls(
            token=token,
            tick=_number(env, TICK_ENV, float),
            stale_after=default("SUPERVISOR_STALE_AFTER") if stale_after is None else stale_after,
            heartbeat_interval=(
                default("SUPERVISOR_HEARTBEAT_INTERVAL")
                if heartbeat_interval is None
                else heartbeat_interval
            ),
            payload_checks=payload_checks or {},
            max_connections=_number(env, MAX_CONNECTIONS_ENV, int),
            max_anonymous=_number(env, MAX_ANONYMOUS_ENV, int),
            body_timeout=_number(env, BODY_TIMEOUT_ENV, float),
            cors_origins=_origins(env.get(CORS_ENV, "")),
        )

    def check_exposure(self, host: str) -> None:
        """Refuse to serve jobs to the network without a token."""
        if self.token is None and not is_loopback(host):
            raise WebConfigError(
                f"refusing to serve on {host} without {TOKEN_ENV}: set a token (at least 16 "
                "characters) or serve on 127.0.0.1"
            )


N = TypeVar("N", int, float)


def _number(env: Environment, name: str, kind: type[N]) -> N:
    raw = env.get(name, "").strip()
    if not raw:
        return kind(default(name))
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number of seconds"
        raise WebConfigError(f"{name} must be {what}, got {raw[:20]!r}") from None


def _origins(raw: str) -> frozenset[str]:
    """The origins in ``raw`` (comma-separated), each ``scheme://host[:port]`` as a browser
    sends it; WebConfigError naming the first one that is not."""
    origins = set()
    for given in (part.strip() for part in raw.split(",")):
        if not given:
            continue
        origin = given.removesuffix("/")
        if origin == "*":
            raise WebConfigError(
                f"{CORS_ENV} may not be '*' (every site's pages could then call this API): "
                "list the origins of your frontends"
            )
        parts = urlsplit(origin)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or f"{parts.scheme}://{parts.netloc}" != origin
            or origin != origin.lower()
        ):
            raise WebConfigError(
                f"{CORS_ENV}: {given[:80]!r} is not an origin: write it as "
                "https://app.example.com (lowercase scheme, host and port only, no path)"
            )
        origins.add(origin)
    return frozenset(origins)
