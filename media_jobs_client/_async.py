"""The async client: for asyncio (FastAPI, aiohttp, asyncio.run) and Trio alike; httpx
runs on either through anyio, and so does every wait here."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import httpx

from ._core import JobView, Request, SseParser, TokenAuth, checked, submit_request, view_of
from ._errors import ServerError, Unreachable
from ._files import (
    CHUNK,
    landing,
    output_path,
    outputs_to_fetch,
    targets,
    ticket_of,
    upload_request,
    with_input,
)

__all__ = ["AsyncClient"]


class AsyncClient:
    """The HTTP API of ``serve`` / ``run --http``, async. ``async with`` it; it never
    blocks the event loop (a stalled database is a slow answer, not a frozen loop)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=url, auth=TokenAuth(token, url), timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, request: Request) -> httpx.Response:
        try:
            return checked(
                await self._http.request(
                    request.method, request.path, json=request.json, headers=dict(request.headers)
                )
            )
        except httpx.TransportError as exc:
            raise Unreachable(f"{request.method} {request.path}: {exc!r}") from exc

    async def submit(
        self,
        type: str,
        payload: Any = None,
        *,
        max_attempts: int | None = None,
        idempotency_key: str | None = None,
        file: str | os.PathLike[str] | None = None,
    ) -> JobView:
        """See :meth:`Client.submit`."""
        if file is not None:
            payload = with_input(payload, await self.upload(file))
        request = submit_request(type, payload, max_attempts, idempotency_key)
        return view_of(await self._send(request))

    async def get(self, job_id: int) -> JobView:
        return view_of(await self._send(Request("GET", f"/api/jobs/{job_id}")))

    async def cancel(self, job_id: int) -> JobView:
        """See :meth:`Client.cancel`."""
        return view_of(await self._send(Request("POST", f"/api/jobs/{job_id}/cancel")))

    async def resubmit(self, job_id: int) -> JobView:
        return view_of(await self._send(Request("POST", f"/api/jobs/{job_id}/resubmit")))

    async def upload(self, path: str | os.PathLike[str]) -> str:
        """See :meth:`Client.upload`; the file is read in a thread, chunk by chunk."""
        request, size = upload_request(path)
        ticket = ticket_of(await self._send(request), self._http.base_url, size)

        async def chunks() -> AsyncIterator[bytes]:
            async with await anyio.open_file(path, "rb") as source:
                while chunk := await source.read(CHUNK):
                    yield chunk

        where = f"{ticket.method} {ticket.url.copy_with(query=None)}"
        try:
            sent = await self._http.request(
                ticket.method, ticket.url, content=chunks(), headers=dict(ticket.headers)
            )
        except httpx.TransportError as exc:
            raise Unreachable(f"{where}: {exc!r}") from exc
        checked(sent)
        return ticket.key

    async def fetch(
        self,
        job_id: int,
        name: str | None = None,
        *,
        to: str | os.PathLike[str] | None = None,
    ) -> list[Path]:
        """See :meth:`Client.fetch`; the file is written in a thread, chunk by chunk."""
        view = await self.get(job_id)
        outputs = outputs_to_fetch(view, name)
        paths = targets(outputs, to)
        for output, target in zip(outputs, paths, strict=True):
            await self._download(job_id, output, target)
        return paths

    async def _download(self, job_id: int, output: dict[str, Any], target: Path) -> None:
        path = output_path(job_id, str(output["name"]))
        try:
            async with self._http.stream("GET", path, follow_redirects=True) as response:
                if not response.is_success:
                    await response.aread()
                checked(response)
                with landing(target, output) as (partial, digest):
                    async with await anyio.open_file(partial, "wb") as out:
                        async for chunk in response.aiter_bytes(CHUNK):
                            digest.update(chunk)
                            await out.write(chunk)
        except httpx.TransportError as exc:
            raise Unreachable(f"GET {path}: {exc!r}") from exc

    async def events(self, job_id: int) -> AsyncGenerator[JobView, None]:
        """See :meth:`Client.events`."""
        path = f"/api/jobs/{job_id}/events"
        try:
            async with self._http.stream("GET", path) as response:
                if not response.is_success:
                    await response.aread()
                checked(response)
                parser = SseParser()
                async for line in response.aiter_lines():
                    if (view := parser.job_view(line)) is not None:
                        yield view
        except httpx.TransportError as exc:
            raise Unreachable(f"GET {path}: {exc!r}") from exc

    async def wait(
        self,
        job_id: int,
        *,
        timeout: float | None = None,  # noqa: ASYNC109  (the sync Client's signature)
        poll_interval: float = 1.0,
    ) -> JobView:
        """See :meth:`Client.wait`; the timeout is the event loop's (``anyio.fail_after``)."""
        with anyio.fail_after(timeout):
            with contextlib.suppress(Unreachable, ServerError):
                # Closed here, not when collected: returning mid-stream ends the request now.
                async with contextlib.aclosing(self.events(job_id)) as views:
                    async for view in views:
                        if view.terminal:
                            return view
            return await self._poll(job_id, poll_interval)

    async def _poll(self, job_id: int, interval: float) -> JobView:
        etag, view = "", None
        while True:
            with contextlib.suppress(Unreachable, ServerError):
                cached = {"If-None-Match": etag} if etag else {}
                request = Request("GET", f"/api/jobs/{job_id}", headers=cached)
                response = await self._send(request)
                if response.status_code != 304:
                    view, etag = view_of(response), response.headers.get("etag", "")
            if view is not None and view.terminal:
                return view
            await anyio.sleep(interval)
