"""The blocking client: for Django, Flask, a script, a thread."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

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

__all__ = ["Client"]


class Client:
    """The HTTP API of ``serve`` / ``run --http``, blocking. A context manager; one
    instance is safe to share between threads (httpx's connection pool)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=url, auth=TokenAuth(token, url), timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, request: Request) -> httpx.Response:
        try:
            return checked(
                self._http.request(
                    request.method, request.path, json=request.json, headers=dict(request.headers)
                )
            )
        except httpx.TransportError as exc:
            raise Unreachable(f"{request.method} {request.path}: {exc!r}") from exc

    def submit(
        self,
        type: str,
        payload: Any = None,
        *,
        max_attempts: int | None = None,
        idempotency_key: str | None = None,
        file: str | os.PathLike[str] | None = None,
    ) -> JobView:
        """Create a job; its poll view. The same ``idempotency_key`` again is answered with
        the job it made (sent as the ``Idempotency-Key`` header). With ``file``, the file
        is uploaded first and its key given as the payload's ``input``."""
        if file is not None:
            payload = with_input(payload, self.upload(file))
        return view_of(self._send(submit_request(type, payload, max_attempts, idempotency_key)))

    def upload(self, path: str | os.PathLike[str]) -> str:
        """Upload the file at ``path`` as a new input, streamed; its key (for a payload's
        ``input``). The bytes go where ``POST /api/uploads`` says: a presigned bucket URL
        (without the API token) or this API."""
        request, size = upload_request(path)
        ticket = ticket_of(self._send(request), self._http.base_url, size)

        def chunks() -> Iterator[bytes]:
            with open(path, "rb") as source:
                while chunk := source.read(CHUNK):
                    yield chunk

        where = f"{ticket.method} {ticket.url.copy_with(query=None)}"
        try:
            sent = self._http.request(
                ticket.method, ticket.url, content=chunks(), headers=dict(ticket.headers)
            )
        except httpx.TransportError as exc:
            raise Unreachable(f"{where}: {exc!r}") from exc
        checked(sent)
        return ticket.key

    def fetch(
        self,
        job_id: int,
        name: str | None = None,
        *,
        to: str | os.PathLike[str] | None = None,
    ) -> list[Path]:
        """Download the job's outputs (all, or the one called ``name``), streamed to disk
        and checked against the SHA-256 in its result; their paths. ``to`` is the file for
        one output (unless it is a folder), else the folder (default: the working one)."""
        view = self.get(job_id)
        outputs = outputs_to_fetch(view, name)
        paths = targets(outputs, to)
        for output, target in zip(outputs, paths, strict=True):
            self._download(job_id, output, target)
        return paths

    def _download(self, job_id: int, output: dict[str, Any], target: Path) -> None:
        path = output_path(job_id, str(output["name"]))
        try:
            # A redirect (S3's presigned GET) is followed; the token stays with the API.
            with self._http.stream("GET", path, follow_redirects=True) as response:
                if not response.is_success:
                    response.read()
                checked(response)
                with landing(target, output) as (partial, digest), open(partial, "wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        except httpx.TransportError as exc:
            raise Unreachable(f"GET {path}: {exc!r}") from exc

    def get(self, job_id: int) -> JobView:
        return view_of(self._send(Request("GET", f"/api/jobs/{job_id}")))

    def cancel(self, job_id: int) -> JobView:
        """Cancel: a pending job at once; a running one once its worker killed the child
        (the view says ``cancel_requested`` until then: ``wait`` for it)."""
        return view_of(self._send(Request("POST", f"/api/jobs/{job_id}/cancel")))

    def resubmit(self, job_id: int) -> JobView:
        """A failed or cancelled job again, as a new job (``retry_of`` names the old one)."""
        return view_of(self._send(Request("POST", f"/api/jobs/{job_id}/resubmit")))

    def events(self, job_id: int, *, read_timeout: float | None = None) -> Iterator[JobView]:
        """The job's view now and at every change, from its event stream; ends after a
        final state (or when the server ends the stream)."""
        timeout = httpx.Timeout(self._timeout, read=read_timeout or self._timeout)
        path = f"/api/jobs/{job_id}/events"
        try:
            with self._http.stream("GET", path, timeout=timeout) as response:
                if not response.is_success:
                    response.read()
                checked(response)
                parser = SseParser()
                for line in response.iter_lines():
                    if (view := parser.job_view(line)) is not None:
                        yield view
        except httpx.TransportError as exc:
            raise Unreachable(f"GET {path}: {exc!r}") from exc

    def wait(
        self, job_id: int, *, timeout: float | None = None, poll_interval: float = 1.0
    ) -> JobView:
        """Block until the job is completed, failed or cancelled; its final view. Follows
        the event stream; if that breaks, polls (with ETags) through outages until the end
        or ``timeout`` (then :class:`TimeoutError`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with contextlib.suppress(Unreachable, ServerError):
            for view in self.events(job_id, read_timeout=timeout):
                if view.terminal:
                    return view
                _check(deadline, job_id)
        return self._poll(job_id, deadline, poll_interval)

    def _poll(self, job_id: int, deadline: float | None, interval: float) -> JobView:
        etag, view = "", None
        while True:
            with contextlib.suppress(Unreachable, ServerError):
                cached = {"If-None-Match": etag} if etag else {}
                request = Request("GET", f"/api/jobs/{job_id}", headers=cached)
                response = self._send(request)
                if response.status_code != 304:
                    view, etag = view_of(response), response.headers.get("etag", "")
            if view is not None and view.terminal:
                return view
            _check(deadline, job_id)
            time.sleep(interval)


def _check(deadline: float | None, job_id: int) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TimeoutError(f"job {job_id} did not end in time")
