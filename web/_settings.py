"""What the HTTP layer needs to know: the token and the timings. (The job types it accepts
are those live workers serve, read from the store's registry per request.)"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping

import attrs

__all__ = ["TOKEN_ENV", "WebConfigError", "WebSettings", "is_loopback"]

TOKEN_ENV = "SUPERVISOR_API_TOKEN"
TICK_ENV = "SUPERVISOR_EVENTS_INTERVAL"


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
    * ``stale_after`` / ``heartbeat_interval``: the workers' timings, so the dashboard can
      say when a running job's heartbeat is late.
    """

    token: str | None = attrs.field(default=None, repr=lambda t: "set" if t else "unset")
    tick: float = 0.5
    stale_after: float = 60.0
    heartbeat_interval: float = 5.0

    def __attrs_post_init__(self) -> None:
        if self.token is not None and (len(self.token) < 16 or not self.token.isprintable()):
            raise WebConfigError(
                f"{TOKEN_ENV} must be at least 16 printable characters "
                "(e.g. the output of `openssl rand -hex 32`)"
            )
        for name in ("tick", "stale_after", "heartbeat_interval"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0 and math.isfinite(value)):
                raise WebConfigError(f"{name} must be a positive number of seconds: {value!r}")

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        stale_after: float = 60.0,
        heartbeat_interval: float = 5.0,
    ) -> WebSettings:
        """The token from ``SUPERVISOR_API_TOKEN`` and the tick from
        ``SUPERVISOR_EVENTS_INTERVAL``; the rest as given (the worker's own settings)."""
        env = os.environ if env is None else env
        token = env.get(TOKEN_ENV, "").strip() or None
        raw_tick = env.get(TICK_ENV, "").strip()
        try:
            tick = float(raw_tick) if raw_tick else 0.5
        except ValueError:
            raise WebConfigError(f"{TICK_ENV} must be a number of seconds") from None
        return cls(
            token=token,
            tick=tick,
            stale_after=stale_after,
            heartbeat_interval=heartbeat_interval,
        )

    def check_exposure(self, host: str) -> None:
        """Refuse to serve jobs to the network without a token."""
        if self.token is None and not is_loopback(host):
            raise WebConfigError(
                f"refusing to serve on {host} without {TOKEN_ENV}: set a token (at least 16 "
                "characters) or serve on 127.0.0.1"
            )
