"""Helpers for the HTTP tests and benchmarks: a server in-process, and an SSE reader."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import trio

from stores import JobStore, JobTypeInfo, WorkerInfo
from web import Broadcaster, WebSettings, serve_http
from web._app import MetricsRenderer

from .helpers import POLL_KEYS, REPO
from .workers import LISTENING

#: Debian's chromium, as Playwright drives it (its own browser download is never used).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@attrs.define
class Server:
    url: str
    store: JobStore
    broadcaster: Broadcaster
    client: httpx.AsyncClient


@contextlib.asynccontextmanager
async def running_server(
    store: JobStore,
    settings: WebSettings | None = None,
    *,
    tick: float = 0.1,
    metrics: MetricsRenderer | None = None,
) -> AsyncIterator[Server]:
    """The real server (Hypercorn, Trio) on a free loopback port, stopped on exit; serving
    ``metrics`` at /metrics if given."""
    settings = settings or WebSettings(tick=tick)
    broadcaster = Broadcaster(store, interval=settings.tick)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            lambda task_status: serve_http(
                store,
                "127.0.0.1",
                0,
                settings,
                stop,
                broadcaster=broadcaster,
                metrics=metrics,
                task_status=task_status,
            )
        )
        try:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                yield Server(url, store, broadcaster, client)
        finally:
            stop.set()


async def live_worker(
    store: JobStore, types: list[JobTypeInfo], worker_id: str = "w-api"
) -> WorkerInfo:
    """Register ``types`` and a worker serving them, live for an hour (no worker runs: the
    API accepts only types a live worker serves)."""
    info = WorkerInfo(worker_id, "test-host", 1, tuple(t.name for t in types), "test", 1200.0)
    await store.register_types(types)
    await store.register_worker(info)
    return info


@attrs.define
class Event:
    event: str
    id: str | None
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


class sse:
    """The events of a text/event-stream response, as they arrive. A plain iterator, not an
    async generator: a test may drop it mid-stream (the response's ``async with`` closes the
    connection), which Trio would report for a generator that was never closed."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    def __aiter__(self) -> sse:
        return self

    async def __anext__(self) -> Event:
        fields: dict[str, list[str]] = {}
        async for line in self._lines:
            if line == "" and "data" in fields:
                return Event(
                    fields.get("event", ["message"])[0],
                    fields.get("id", [None])[0],
                    "\n".join(fields["data"]),
                )
            if line == "":
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                fields.setdefault(name, []).append(value.removeprefix(" "))
        raise StopAsyncIteration


__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "LISTENING",
    "POLL_KEYS",
    "REPO",
    "Event",
    "Server",
    "live_worker",
    "running_server",
    "sse",
]
