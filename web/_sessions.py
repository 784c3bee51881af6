"""The dashboard's sessions, and the throttle on failed logins.

Design (decided for issue 16). A session is a signed, expiring cookie, not a row in the
database: ``v2.<id>.<expires>.<mac>``, where ``id`` is random per login, ``expires`` a Unix
time ``lifetime`` seconds after it (12 h by default), and ``mac`` an HMAC-SHA256 of both
under a key derived from ``SUPERVISOR_API_TOKEN``. So every process with the same token
(``serve``, ``run --http``) accepts it without sharing state, rotating the token ends every
session, and a stolen cookie dies by itself. Logging out revokes the id *in the process that
handled the logout* (a small in-memory list, kept until the id would have expired anyway):
another process accepts the cookie until its expiry. Revocation across processes would need
the database; the expiry bounds the gap instead.

Failed logins are counted per client address (the TCP peer; behind a proxy that is the
proxy, so its users share one budget, while bearer requests are never throttled): after
``MAX_FAILURES`` within ``WINDOW`` seconds the form answers 429 with ``Retry-After``, even
for the right token (the throttle must not tell a guesser when it guessed right).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable

import trio

__all__ = ["LoginThrottle", "Sessions"]

#: Seconds a session lasts from its login.
SESSION_LIFETIME = 12 * 3600.0
_KEY_LABEL = b"media-jobs dashboard session v2"
_VERSION = "v2"
#: Failed logins allowed per address within WINDOW seconds.
MAX_FAILURES = 5
WINDOW = 60.0
#: Addresses remembered at most (the oldest is forgotten first): memory stays bounded.
MAX_ADDRESSES = 10_000


class Sessions:
    """Issues, checks and revokes session cookies for one token; see the module docstring."""

    def __init__(
        self,
        token: str,
        *,
        lifetime: float = SESSION_LIFETIME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = hmac.new(token.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self._lifetime = lifetime
        self._clock = clock
        self._revoked: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"<Sessions lifetime={self._lifetime:g}s revoked={len(self._revoked)}>"

    def _mac(self, session_id: str, expires: int) -> str:
        message = f"{session_id}.{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(self) -> str:
        """A new session's cookie value."""
        session_id = secrets.token_urlsafe(18)
        expires = int(self._clock() + self._lifetime)
        return f"{_VERSION}.{session_id}.{expires}.{self._mac(session_id, expires)}"

    def _parse(self, value: str) -> tuple[str, int] | None:
        """The id and expiry of a genuine, unexpired cookie, else None."""
        version, _, rest = value.partition(".")
        session_id, _, rest = rest.partition(".")
        expires_text, _, mac = rest.partition(".")
        if version != _VERSION or not expires_text.isascii() or not expires_text.isdigit():
            return None
        expires = int(expires_text)
        if not hmac.compare_digest(mac.encode(), self._mac(session_id, expires).encode()):
            return None
        if expires <= self._clock():
            return None
        return session_id, expires

    def valid(self, value: str) -> bool:
        parsed = self._parse(value)
        return parsed is not None and parsed[0] not in self._revoked

    def revoke(self, value: str) -> None:
        """End the session of ``value`` in this process (nothing if it is not genuine)."""
        parsed = self._parse(value)
        if parsed is None:
            return
        now = self._clock()
        # Forget revoked ids once they would have expired: the list stays as short as the
        # logouts of one lifetime.
        self._revoked = {k: at for k, at in self._revoked.items() if at > now}
        self._revoked[parsed[0]] = parsed[1]


class LoginThrottle:
    """Counts failed logins per address in a sliding window (Trio's clock)."""

    def __init__(self, *, max_failures: int = MAX_FAILURES, window: float = WINDOW) -> None:
        self._max = max_failures
        self._window = window
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def __repr__(self) -> str:
        return f"<LoginThrottle {self._max} per {self._window:g}s addresses={len(self._failures)}>"

    def _recent(self, address: str) -> deque[float]:
        failures = self._failures.get(address)
        if failures is None:
            return deque()
        cutoff = trio.current_time() - self._window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[address]
        return failures

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None when it may now."""
        failures = self._recent(address)
        if len(failures) < self._max:
            return None
        wait = failures[len(failures) - self._max] + self._window - trio.current_time()
        return max(1, int(wait + 0.999))

    def failed(self, address: str) -> int:
        """Count a failure; returns the failures of ``address`` within the window."""
        failures = self._recent(address)
        failures.append(trio.current_time())
        self._failures[address] = failures
        self._failures.move_to_end(address)
        while len(self._failures) > MAX_ADDRESSES:
            self._failures.popitem(last=False)
        return len(failures)
