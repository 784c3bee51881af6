"""``GET /healthz``: whether the store answers, read at most once per ``interval``.

``/healthz`` is anonymous (platform health checks send no token), so what it costs must not
grow with how often anyone asks: the store is read once per ``interval`` (1 s) whatever the
request rate, and the requests in between get that answer. Concurrent requests wait for the
one read in flight instead of starting their own. The answer names no database, address or
token: the reason goes to the server log, which the operator reads.
"""

from __future__ import annotations

import logging

import trio
from starlette.responses import JSONResponse

from stores import JobStore, JobStoreError

__all__ = ["HealthCheck"]

log = logging.getLogger("web")

#: Seconds one store read answers for.
HEALTH_INTERVAL = 1.0


class HealthCheck:
    """The store's health, cached for ``interval`` seconds (Trio's clock)."""

    def __init__(self, store: JobStore, *, interval: float = HEALTH_INTERVAL) -> None:
        self._store = store
        self._interval = interval
        self._lock = trio.Lock()
        self._checked_at = -float("inf")
        self._ok = False

    def __repr__(self) -> str:
        return f"<HealthCheck ok={self._ok} interval={self._interval:g}s>"

    async def ok(self) -> bool:
        """True when the store answered its last read (made now if that one is too old).

        Cancellation: a read in flight completes for the next caller (the store shields it).
        """
        async with self._lock:
            if trio.current_time() - self._checked_at >= self._interval:
                self._ok = await self._read()
                self._checked_at = trio.current_time()
            return self._ok

    async def answer(self) -> JSONResponse:
        """``GET /healthz``'s answer: 200 ``{"status": "ok"}``, else 503 with the reason."""
        if await self.ok():
            return JSONResponse({"status": "ok"})
        return JSONResponse(
            {"status": "unavailable", "error": "the job database does not answer: see the log"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    async def _read(self) -> bool:
        try:
            await self._store.check()  # one primary-key read; the file and disk checked
        except JobStoreError as exc:
            log.warning("health check: the job database does not answer: %s", exc)
            return False
        return True
